using System.Net;
using System.Text;
using System.Text.Json;
using Lmu.MLNet.Samples.Serving;
using Lmu.MLNet.Tests.Infrastructure;
using Lmu.MLNet.Tests.MLNet.Classification;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>
/// What <c>serve</c> tells and takes: GET /model names the model file but no server path, and a request body over the
/// limit (default: sized to the model's inputs and reported by /model; or <c>--max-body-bytes</c>) gets 413 with a
/// JSON message, whether the body announces its length or arrives chunked.
/// </summary>
[TestClass]
public sealed class ServeLimitsTests : ClassifierTestBase
{
    [TestMethod]
    public void AForecasterSavedWithItsSeriesRowsSchemaIsRefusedNamingTheFix()
    {
        // Regression QA: serve failed to start on such a zip with ML.NET's "Could not find input column 'Window'".
        var ml = new Microsoft.ML.MLContext(1);
        var model = Lmu.MLNet.Tests.Forecasting.ForecastTestModels.Create(Lmu.MLNet.HiddenCell.Dense, 0, Lmu.MLNet.Forecasting.LmuForecastScaling.Global);
        var zip = Path.Combine(Temp, "series-schema.zip");
        var rows = Lmu.MLNet.Tests.Forecasting.SeriesView.Create(ml, Lmu.MLNet.Tests.Forecasting.ForecastTestModels.Series(20, 0).Values, []);
        using (var chain = Lmu.MLNet.Forecasting.LmuForecastEstimator.CreateChain(ml, model, "Value"))
        {
            ml.Model.Save(chain, rows.Schema, zip);
        }

        var e = Assert.ThrowsExactly<InvalidDataException>(() => new ModelService(zip, poolSize: 1, tempFolder: MlTemp));
        StringAssert.Contains(e.Message, $"The model in '{zip}' cannot be run on the input schema it was saved with");
        StringAssert.Contains(e.Message, "A forecaster saved with its series rows' schema");
        StringAssert.Contains(e.Message, "serve --series-model with --model naming a window-layout zip");
    }

    [TestMethod]
    public void AZipSavedWithoutItsInputSchemaIsRefusedNamingTheFix()
    {
        // Files QA: Model.Save(model, null, path) writes no schema; serve failed with "Value cannot be null. (Parameter
        // 'source')" and predict with a bare NullReferenceException.
        var zip = ServedClassifierZip.Create(Temp, MlTemp, rowCount: 2).Zip;
        var ml = new Microsoft.ML.MLContext(1) { TempFilePath = MlTemp };
        var noSchema = Path.Combine(Temp, "no-schema.zip");
        var loaded = Lmu.MLNet.LmuModelFile.Load(ml, zip, out _);
        try
        {
            ml.Model.Save(loaded, null, noSchema);
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }

        var e = Assert.ThrowsExactly<InvalidDataException>(() => new ModelService(noSchema, poolSize: 1, tempFolder: MlTemp));
        StringAssert.Contains(e.Message, $"The model in '{noSchema}' was saved without its input schema (mlContext.Model.Save(model, null, path)), and serve reads the model's inputs from it");
        StringAssert.Contains(e.Message, "mlContext.Model.Save(model, data.Schema, path)");
        var rows = Path.Combine(Temp, "rows.csv");
        File.WriteAllText(rows, "1,2,3\n");
        var (code, log) = SamplesApp.Run(SamplesApp.Output(), Temp, TimeSpan.FromMinutes(2), "predict", "--model", noSchema, "--input", rows, "--output", Path.Combine(Temp, "out.csv"));
        Assert.AreEqual(2, code, log);
        StringAssert.Contains(log, "was saved without its input schema (mlContext.Model.Save(model, null, path)), and predict reads the model's inputs from it");
        Assert.IsEmpty(Directory.GetFiles(MlTemp), "nothing left in the temp folder");
    }

    [TestMethod]
    [Timeout(180_000, CooperativeCancellation = true)]
    public async Task TheModelDescriptionNamesTheFileButNoServerPathAndReportsTheDefaultBodyLimit()
    {
        var model = ServedClassifierZip.Create(Temp, MlTemp, rowCount: 2);
        await using var served = await ServeProcess.StartAsync(model.Zip, Temp);

        var text = await served.Http.GetStringAsync("/model");
        Assert.DoesNotContain(Temp, text, "GET /model must not reveal where the model lives on the server");
        Assert.DoesNotContain(Path.GetTempPath().TrimEnd('/'), text);
        var description = JsonDocument.Parse(text).RootElement;
        Assert.AreEqual("m.zip", description.GetProperty("file").GetString());
        // Serve QA: a file replaced on disk was still described by its name alone; the hash says which model answers.
        Assert.AreEqual(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(model.Zip))), description.GetProperty("sha256").GetString());
        Assert.IsTrue(DateTimeOffset.TryParse(description.GetProperty("loadedAt").GetString(), out var loadedAt) && Math.Abs((DateTimeOffset.UtcNow - loadedAt).TotalMinutes) < 10, text);

        // The default limit: a generous multiple of one maximal row's JSON, and at least 64 KiB.
        var limit = description.GetProperty("maxBodyBytes").GetInt64();
        var row = model.Request(0);
        Assert.IsGreaterThanOrEqualTo(64 * 1024, limit);
        Assert.IsGreaterThan(8L * Encoding.UTF8.GetByteCount(row), limit);
        Bound.Below(16L * 1024 * 1024, limit, "the default must stay far below Kestrel's 30 MB");

        Assert.AreEqual(HttpStatusCode.OK, (await Post(served, Padded(row, (int)limit))).Status, "a body of exactly the limit is served");
        await AssertTooLarge(served, Padded(row, (int)limit + 1), limit, chunked: false);
        await AssertTooLarge(served, Padded(row, (int)limit + 1), limit, chunked: true);
        Assert.AreEqual(HttpStatusCode.OK, (await Post(served, row)).Status, "the server keeps serving after refusing a body");
    }

    [TestMethod]
    [Timeout(180_000, CooperativeCancellation = true)]
    public async Task ALimitBelowTheSmallestRequestIsRefusedAndANullFieldIsAnAbsentOne()
    {
        var model = ServedClassifierZip.Create(Temp, MlTemp, rowCount: 1);
        var features = model.Rows[0].Features.Length;
        // {"Features":[0,...,0]}: 2 braces, the name and its quotes and colon (11), the brackets and 2n - 1 characters.
        var smallest = 2 + 11 + 2 + (2 * features) - 1;
        var e = Assert.Throws<ArgumentException>(() => new ModelService(model.Zip, poolSize: 1, maxBodyBytes: smallest - 1));
        StringAssert.StartsWith(e.Message, $"--max-body-bytes {smallest - 1} is below the smallest request this model can take ({smallest} bytes");
        using var service = new ModelService(model.Zip, poolSize: 1, maxBodyBytes: smallest);

        // The optional Label given as null is left out, as when it is absent; a null Features is a missing field.
        var features0 = JsonSerializer.Serialize(model.Rows[0].Features);
        using (var withNull = JsonDocument.Parse($"{{\"Features\": {features0}, \"Label\": null}}"))
        {
            var answer = await service.PredictAsync(withNull.RootElement, CancellationToken.None);
            CollectionAssert.AreEqual(model.Scores[0], (float[])answer["Score"]!);
        }

        using var nullFeatures = JsonDocument.Parse("{\"Features\": null}");
        var missing = await Assert.ThrowsAsync<ServingRequestException>(() => service.PredictAsync(nullFeatures.RootElement, CancellationToken.None));
        StringAssert.StartsWith(missing.Message, "Missing field 'Features'");
    }

    [TestMethod]
    [Timeout(180_000, CooperativeCancellation = true)]
    public async Task MaxBodyBytesSetsTheLimitAndALargerBodyGets413WithAJsonMessage()
    {
        var model = ServedClassifierZip.Create(Temp, MlTemp, rowCount: 2);
        const int Limit = 2000;
        await using var served = await ServeProcess.StartAsync(model.Zip, Temp, "--max-body-bytes", "2000");
        Assert.AreEqual(Limit, (await served.DescribeAsync()).GetProperty("maxBodyBytes").GetInt64());

        var row = model.Request(1);
        var (status, body) = await Post(served, Padded(row, Limit));
        Assert.AreEqual(HttpStatusCode.OK, status, body);
        Assert.IsNull(model.Mismatch(1, status, body));
        await AssertTooLarge(served, Padded(row, Limit + 1), Limit, chunked: false);
        await AssertTooLarge(served, Padded(row, 10 * Limit), Limit, chunked: true);
        Assert.IsFalse(served.Process.HasExited);
    }

    [TestMethod]
    [Timeout(180_000, CooperativeCancellation = true)]
    public async Task AChunkSizePastKestrelsBoundIs400AndNoInternalFailure()
    {
        // Hostile-clients QA: a chunk size of 9 hex digits or more (Kestrel's IOException "Bad chunk size data.", where a smaller
        // bad size is its BadHttpRequestException) was answered 500 and logged as a failure inside the service, uncapped.
        var model = ServedClassifierZip.Create(Temp, MlTemp, rowCount: 1);
        await using var served = await ServeProcess.StartAsync(model.Zip, Temp);
        foreach (var size in new[] { "100000000", "7FFFFFFFFFFFFFFF", "10000000000000000" })
        {
            using var client = new System.Net.Sockets.TcpClient();
            await client.ConnectAsync(served.Http.BaseAddress!.Host, served.Http.BaseAddress.Port);
            await using var stream = client.GetStream();
            var request = $"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{size}\r\n{{}}\r\n0\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
            using var reader = new StreamReader(stream, Encoding.ASCII);
            var answer = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
            StringAssert.StartsWith(answer, "HTTP/1.1 400 Bad Request", size);
            StringAssert.Contains(answer, "{\"error\":\"The request could not be read: Bad chunk size data.\"}", size);
        }

        Assert.AreEqual(HttpStatusCode.OK, (await Post(served, model.Request(0))).Status, "the server keeps serving");
        Assert.IsFalse(served.ErrorLog.Contains("failed inside", StringComparison.Ordinal), served.ErrorLog);
        StringAssert.Contains(served.ErrorLog, "POST /predict answered 400: the request could not be read: Bad chunk size data.");
    }

    /// <summary><paramref name="json"/> followed by spaces (still valid JSON) to exactly <paramref name="bytes"/> bytes.</summary>
    private static string Padded(string json, int bytes) => json + new string(' ', bytes - Encoding.UTF8.GetByteCount(json));

    private static async Task<(HttpStatusCode Status, string Body)> Post(ServeProcess served, string body, bool chunked = false)
    {
        HttpContent content = chunked
            ? new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(body)))
            : new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        using (content)
        {
            content.Headers.ContentType = new("application/json");
            using var request = new HttpRequestMessage(HttpMethod.Post, "/predict") { Content = content };
            // Without a Content-Length the server only finds out while reading.
            request.Headers.TransferEncodingChunked = chunked;
            using var response = await served.Http.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }
    }

    private static async Task AssertTooLarge(ServeProcess served, string body, long limit, bool chunked)
    {
        var (status, text) = await Post(served, body, chunked);
        Assert.AreEqual(HttpStatusCode.RequestEntityTooLarge, status, $"chunked {chunked}: {text}");
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error").GetString();
        StringAssert.Contains(error, limit.ToString(System.Globalization.CultureInfo.InvariantCulture));
        StringAssert.Contains(error, "--max-body-bytes");
    }
}
