using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Lmu.MLNet.Forecasting;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Tests.Forecasting;
using Lmu.MLNet.Tests.Infrastructure;
using Microsoft.ML;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>
/// <c>serve --series</c> from a copy of the app without libtorch: a single-silo Orleans cluster in the process behind
/// POST /series/{id}/observe and GET /series/{id}/forecast, answering what the in-process engine computes bit for bit,
/// with resends skipped and gaps refused, beside /predict on the same zip.
/// </summary>
[TestClass]
public sealed class ServeSeriesTests
{
    private string _temp = null!;

    [TestInitialize]
    public void NewTemp()
    {
        _temp = Path.Combine(Path.GetTempPath(), $"lmu-serve-series-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_temp);
    }

    [TestCleanup]
    public void RemoveTemp() => Directory.Delete(_temp, recursive: true);

    [TestMethod]
    [Timeout(180_000, CooperativeCancellation = true)]
    public async Task SeriesRoutesAnswerTheInProcessEngineBitForBit_ExactlyOncePerSequenceNumber()
    {
        var (model, zip) = StreamingZip();
        var (values, covs) = ForecastTestModels.Series(20, 1);
        var engine = new LmuForecastEngine(model);

        await using var served = await StartSeriesAsync(zip);
        for (var n = 1; n <= values.Length; n++)
        {
            var (status, body) = await Observe(served, "pump-7", new { sequence = n, value = values[n - 1], covariates = new[] { covs[0][n - 1] } });
            Assert.AreEqual(HttpStatusCode.OK, status, body.ToString());
            Assert.AreEqual("Applied", body.GetProperty("outcome").GetString());
            AssertForecast(engine.Observe(values[n - 1], covs[0][n - 1]), body, $"reading {n}");
        }

        var (resendStatus, resend) = await Observe(served, "pump-7", new { sequence = 20, value = 1, covariates = new[] { 1f } });
        Assert.AreEqual(HttpStatusCode.OK, resendStatus);
        Assert.AreEqual("Duplicate", resend.GetProperty("outcome").GetString());
        AssertForecast(engine.Current, resend, "resend");
        var (gapStatus, gap) = await Observe(served, "pump-7", new { sequence = 22, value = 1, covariates = new[] { 1f } });
        Assert.AreEqual(HttpStatusCode.Conflict, gapStatus);
        Assert.AreEqual(20, gap.GetProperty("lastSequence").GetInt64());
        Assert.IsFalse(gap.TryGetProperty("error", out _), "a known series' gap says where it stands");
        // Serve QA: after a restart a sender whose readings 1-5 were acknowledged got lastSequence 0 and no word why.
        var (unknownStatus, unknown) = await Observe(served, "never-seen", new { sequence = 6, value = 1, covariates = new[] { 1f } });
        Assert.AreEqual(HttpStatusCode.Conflict, unknownStatus);
        Assert.AreEqual(0, unknown.GetProperty("lastSequence").GetInt64());
        StringAssert.Contains(unknown.GetProperty("error").GetString(), "Series 'never-seen' holds nothing: it was never observed, was forgotten (DELETE or --series-idle), or the service restarted since");
        var (badStatus, bad) = await Observe(served, "pump-7", new { sequence = 21, value = 1 });
        Assert.AreEqual(HttpStatusCode.BadRequest, badStatus);
        StringAssert.Contains(bad.GetProperty("error").GetString(), "1 finite covariate(s) (Cov0)");

        using var forecast = JsonDocument.Parse(await served.Http.GetStringAsync("/series/pump-7/forecast"));
        AssertForecast(engine.Current, forecast.RootElement, "GET forecast");
        Assert.AreEqual(model.Fingerprint, forecast.RootElement.GetProperty("modelFingerprint").GetString());

        // A series never observed is 404, an empty batch 400 (QA: 200 "Applied" and "Duplicate").
        using (var unseen = await served.Http.GetAsync("/series/never-seen/forecast"))
        {
            Assert.AreEqual(HttpStatusCode.NotFound, unseen.StatusCode);
            StringAssert.Contains(await unseen.Content.ReadAsStringAsync(), "Series 'never-seen' holds nothing: it was never observed");
        }

        var (emptyStatus, empty) = await Observe(served, "pump-7", Array.Empty<object>());
        Assert.AreEqual(HttpStatusCode.BadRequest, emptyStatus, empty.ToString());
        StringAssert.Contains(empty.GetProperty("error").GetString(), "empty array");

        // A number below 1 would be skipped as a resend; a fractional one or a text value is named (QA: 200 "Duplicate",
        // and "One of the identified items was in an invalid format").
        foreach (var (body, expected) in new (object, string)[]
        {
            (new { sequence = 0, value = 1, covariates = new[] { 1f } }, "sequence numbers start at 1"),
            (new { sequence = 2.5, value = 1, covariates = new[] { 1f } }, "\"sequence\" must be a whole number (1, 2, ...) but is 2.5"),
            (new { sequence = 21, value = "high", covariates = new[] { 1f } }, "\"value\" must be a number but is \"high\""),
            // Covariates are held to the same rule, by index (1e39 read as Infinity and reached the model; review).
            (new { sequence = 21, value = 1, covariates = new[] { 1e39 } }, "\"covariates\"[0] 1E+39 is beyond the 32-bit float range"),
            (new { sequence = 21, value = 1, covariates = new object[] { 1, "warm" } }, "\"covariates\"[1] must be a number but is \"warm\""),
            (new { sequence = 21, value = 1, covariates = "warm" }, "\"covariates\" must be an array of numbers but is \"warm\""),
            // A missing field was answered 500 (a KeyNotFoundException; found by QA).
            (new { value = 1, covariates = new[] { 1f } }, "a reading is an object with \"sequence\" and \"value\""),
            (new { sequence = 1, covariates = new[] { 1f } }, "a reading is an object with \"sequence\" and \"value\""),
        })
        {
            var (status, answer) = await Observe(served, "fresh-series", body);
            Assert.AreEqual(HttpStatusCode.BadRequest, status, answer.ToString());
            StringAssert.Contains(answer.GetProperty("error").GetString(), expected);
        }

        // A field given twice was read silently, the last one winning (QA).
        using (var twice = new StringContent("{\"sequence\": 1, \"value\": 1, \"value\": 2, \"covariates\": [1]}", System.Text.Encoding.UTF8, "application/json"))
        using (var twiceResponse = await served.Http.PostAsync("/series/twice-series/observe", twice))
        {
            Assert.AreEqual(HttpStatusCode.BadRequest, twiceResponse.StatusCode);
            StringAssert.Contains(await twiceResponse.Content.ReadAsStringAsync(), "Duplicate property 'value'");
        }

        // Field names match without regard to case, as /predict's do (fleet QA: "Sequence" was refused as missing); one
        // field in two spellings is refused naming both.
        var (casedStatus, cased) = await Observe(served, "cased-series", new Dictionary<string, object> { ["Sequence"] = 1, ["VALUE"] = 1.5f, ["Covariates"] = new[] { 0.5f } });
        Assert.AreEqual(HttpStatusCode.OK, casedStatus, cased.ToString());
        Assert.AreEqual(1, cased.GetProperty("lastSequence").GetInt64());
        var (spelledStatus, spelled) = await Observe(served, "cased-series", new Dictionary<string, object> { ["sequence"] = 2, ["Value"] = 1, ["value"] = 2, ["covariates"] = new[] { 0.5f } });
        Assert.AreEqual(HttpStatusCode.BadRequest, spelledStatus, spelled.ToString());
        StringAssert.Contains(spelled.GetProperty("error").GetString(), "Field 'value' is given twice, as 'Value' and 'value'");

        // A body declared as another type than JSON is 415 (QA: a form body was parsed as JSON).
        using (var form = new StringContent("{\"sequence\": 1, \"value\": 1, \"covariates\": [1]}", System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"))
        using (var formResponse = await served.Http.PostAsync("/series/form-series/observe", form))
        {
            Assert.AreEqual(HttpStatusCode.UnsupportedMediaType, formResponse.StatusCode);
            StringAssert.Contains(await formResponse.Content.ReadAsStringAsync(), "application/x-www-form-urlencoded");
        }

        // A batch over the body limit is 413, where it was 500 (Kestrel's refusal inside the handler; found by QA).
        var batch = Enumerable.Range(1, 5000).Select(n => new { sequence = n, value = 1.25f, covariates = new[] { 0.5f } }).ToArray();
        using (var large = new StringContent(JsonSerializer.Serialize(batch), System.Text.Encoding.UTF8, "application/json"))
        using (var largeResponse = await served.Http.PostAsync("/series/large-batch/observe", large))
        {
            var text = await largeResponse.Content.ReadAsStringAsync();
            Assert.AreEqual(HttpStatusCode.RequestEntityTooLarge, largeResponse.StatusCode, text);
            // Named with the option that sets it, as /predict's 413 is (QA: Kestrel's "Request body too large").
            StringAssert.Contains(text, "(set by --max-body-bytes;");
        }

        var window = values[^ForecastTestModels.Window..];
        var (predictStatus, predicted) = await served.PredictAsync(new { Window = window, Cov0 = covs[0][^ForecastTestModels.Window..] });
        Assert.AreEqual(HttpStatusCode.OK, predictStatus, predicted.ToString());
        Assert.IsFalse(SamplesApp.TorchLoaded(served.Process.Id), "the service process must not load libtorch");
    }

    [TestMethod]
    [Timeout(180_000, CooperativeCancellation = true)]
    public async Task TheSeriesHeldAreBoundedAndOneCanBeRemoved()
    {
        // QA: the in-memory store kept every series ever seen, 43 KB each, until the process wedged and died. With
        // --series-max 2 a third series is refused (503, nothing stored) until one is removed; a known series goes on.
        await using var served = await StartSeriesAsync(StreamingZip().Zip, "--series-max", "2", "--series-idle", "1440");
        StringAssert.Contains(served.Output, "series: held in memory, at most 2, and new ones refused from 80 % of the process's memory limit (at most the limit less 64 MiB); a series is forgotten 1,440 minute(s) after its last reading, and every series when the service stops");
        object Reading(int n) => new { sequence = n, value = 1.5f * n, covariates = new[] { 0.5f } };
        foreach (var id in new[] { "a", "b" })
        {
            Assert.AreEqual(HttpStatusCode.OK, (await Observe(served, id, Reading(1))).Status);
        }

        // A gap on an unknown id stores nothing, so it does not count.
        Assert.AreEqual(HttpStatusCode.OK, (await Observe(served, "a", Reading(2))).Status);
        var (fullStatus, full) = await Observe(served, "c", Reading(1));
        Assert.AreEqual(HttpStatusCode.ServiceUnavailable, fullStatus, full.ToString());
        StringAssert.Contains(full.GetProperty("error").GetString(), "The service holds 2 series, its limit (--series-max 2); a new series is admitted when one is forgotten: idle for 1,440 minute(s) (--series-idle), or removed with DELETE /series/{id}.");
        using (var notFound = await served.Http.GetAsync("/series/c/forecast"))
        {
            Assert.AreEqual(HttpStatusCode.NotFound, notFound.StatusCode, "the refused reading was not applied");
            // Orleans QA: the 404 said only "POST ... first" to a sender whose series had been forgotten; it says why now.
            StringAssert.Contains(await notFound.Content.ReadAsStringAsync(), "Series 'c' holds nothing: it was never observed, was forgotten (DELETE or --series-idle), or the service restarted since");
        }

        using (var health = await served.Http.GetAsync("/health"))
        {
            Assert.AreEqual(HttpStatusCode.OK, health.StatusCode, "a full store is not a broken service");
        }

        using (var removed = await served.Http.DeleteAsync("/series/a"))
        {
            Assert.AreEqual(HttpStatusCode.NoContent, removed.StatusCode, await removed.Content.ReadAsStringAsync());
        }

        using (var again = await served.Http.DeleteAsync("/series/a"))
        {
            Assert.AreEqual(HttpStatusCode.NotFound, again.StatusCode);
            StringAssert.Contains(await again.Content.ReadAsStringAsync(), "Series 'a' holds nothing to remove.");
        }

        using (var forgotten = await served.Http.GetAsync("/series/a/forecast"))
        {
            Assert.AreEqual(HttpStatusCode.NotFound, forgotten.StatusCode);
            StringAssert.Contains(await forgotten.Content.ReadAsStringAsync(), "Series 'a' holds nothing: it was never observed, was forgotten");
        }

        Assert.AreEqual(HttpStatusCode.OK, (await Observe(served, "c", Reading(1))).Status, "admitted once a series was removed");
        // The removed series starts anew at number 1: reading 3 is a gap from 0.
        var (gapStatus, gap) = await Observe(served, "a", Reading(3));
        Assert.AreEqual(HttpStatusCode.ServiceUnavailable, gapStatus, "b and c are held: a is new again, and refused: " + gap);
        Assert.AreEqual(HttpStatusCode.OK, (await Observe(served, "b", Reading(2))).Status, "a held series goes on");

        // Error answers are JSON on every path (serve QA: an empty 404), with the router's status.
        using (var unknown = await served.Http.GetAsync("/series/b/state"))
        {
            Assert.AreEqual(HttpStatusCode.NotFound, unknown.StatusCode);
            StringAssert.Contains(await unknown.Content.ReadAsStringAsync(), "No route GET /series/b/state: this service answers POST /predict, GET /health and GET /model, and POST /series/{id}/observe, GET /series/{id}/forecast and DELETE /series/{id}.");
        }

        using (var wrongMethod = await served.Http.GetAsync("/series/b"))
        {
            Assert.AreEqual(HttpStatusCode.MethodNotAllowed, wrongMethod.StatusCode);
            StringAssert.Contains(await wrongMethod.Content.ReadAsStringAsync(), "/series/b does not answer GET");
        }

        // An id of spaces is named (QA: Orleans' own words about a "primaryKey").
        var (blankStatus, blank) = await Observe(served, "%20", Reading(1));
        Assert.AreEqual(HttpStatusCode.BadRequest, blankStatus, blank.ToString());
        StringAssert.Contains(blank.GetProperty("error").GetString(), "The series id in /series/{id} is blank");
    }

    [TestMethod]
    [Timeout(180_000, CooperativeCancellation = true)]
    public async Task SeriesAreServedFromTheModelLoadedAtStartEvenWhenItsFileGoes()
    {
        // serve read the streaming model at its start to check it, then the silo read the file again at the first
        // reading: a deploy that moved or deleted the file after the start failed every series call with 500 and made
        // /health 503, while /predict went on from the model it had loaded.
        var (model, zip) = StreamingZip();
        var (values, covs) = ForecastTestModels.Series(20, 1);
        await using var served = await StartSeriesAsync(zip);
        File.Delete(zip);
        for (var series = 0; series < 4; series++)
        {
            var engine = new LmuForecastEngine(model);
            for (var n = 1; n <= values.Length; n++)
            {
                var (status, body) = await Observe(served, $"s{series}", new { sequence = n, value = values[n - 1], covariates = new[] { covs[0][n - 1] } });
                Assert.AreEqual(HttpStatusCode.OK, status, $"series {series}, reading {n}: {body}");
                AssertForecast(engine.Observe(values[n - 1], covs[0][n - 1]), body, $"series {series}, reading {n}");
            }
        }

        using var health = await served.Http.GetAsync("/health");
        Assert.AreEqual(HttpStatusCode.OK, health.StatusCode, await health.Content.ReadAsStringAsync());
    }

    [TestMethod]
    [Timeout(180_000, CooperativeCancellation = true)]
    public async Task AStartAlreadyOverTheSeriesLineSaysSoOnceTheSiloIsUp()
    {
        // Limits QA: the warning was read before the silo started, when a 120 MiB group was still under the line, and
        // every new series was then refused with 503 without a word at the start. Under a 64 MiB GC heap hard limit the
        // line is 0 MB (the limit less 64 MiB): the started service is over it.
        var zip = StreamingZip().Zip;
        await using (var tight = await StartSeriesAsync(zip, new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0x4000000" }))
        {
            Assert.IsFalse(tight.Output.Contains("warning", StringComparison.Ordinal), tight.Output);
            var modelLine = await tight.NextLineAsync(TimeSpan.FromSeconds(30));
            StringAssert.StartsWith(modelLine, "model ");
            var warning = await tight.NextLineAsync(TimeSpan.FromSeconds(30));
            StringAssert.Contains(warning, "series: warning: ");
            StringAssert.Contains(warning, "(the GC heap hard limit, against the managed heap), over the line of 0 MB for a 67 MB limit: every new series will be refused; give the service more memory");
            var (status, body) = await Observe(tight, "refused", new { sequence = 1, value = 1f, covariates = new[] { 1f } });
            Assert.AreEqual(HttpStatusCode.ServiceUnavailable, status, "the warning foretells the refusal: " + body);
        }

        // Without a limit the line after the model's is not a warning.
        await using var roomy = await StartSeriesAsync(zip);
        var next = await roomy.NextLineAsync(TimeSpan.FromSeconds(30));
        StringAssert.StartsWith(next, "model ");
        string? after = null;
        try
        {
            after = await roomy.NextLineAsync(TimeSpan.FromSeconds(3));
        }
        catch (OperationCanceledException)
        {
            // Nothing more was printed: what a service with room says.
        }

        Assert.IsNull(after, "no further start line without a limit: " + after);
    }

    [TestMethod]
    [Timeout(180_000, CooperativeCancellation = true)]
    public async Task CallsRacingADeleteAreAnsweredNeverFailedInside()
    {
        // Hostile-clients QA: a DELETE, an observe and a forecast sent at once to a series of one reading got 500 in 18
        // of 1,000 ids (Orleans refused a message forwarded twice past the grain's deactivation), and each failure
        // counted toward /health. The refused call is sent again: every answer is the client's (204/404, 200/409).
        await using var served = await StartSeriesAsync(StreamingZip().Zip);
        object Reading(int n) => new { sequence = n, value = 1.5f * n, covariates = new[] { 0.5f } };
        var statuses = new Dictionary<string, int>();
        for (var i = 0; i < 600; i++)
        {
            var id = $"race-{i}";
            Assert.AreEqual(HttpStatusCode.OK, (await Observe(served, id, Reading(1))).Status);
            var delete = served.Http.DeleteAsync($"/series/{id}");
            var observe = served.Http.PostAsJsonAsync($"/series/{id}/observe", Reading(2));
            var forecast = served.Http.GetAsync($"/series/{id}/forecast");
            foreach (var (what, call) in new[] { ("DELETE", delete), ("observe", observe), ("forecast", forecast) })
            {
                using var response = await call;
                var key = $"{what} {(int)response.StatusCode}";
                statuses[key] = statuses.GetValueOrDefault(key) + 1;
            }
        }

        var seen = string.Join(", ", statuses.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}: {s.Value}"));
        string[] expected = ["DELETE 204", "DELETE 404", "observe 200", "observe 409", "forecast 200", "forecast 404"];
        Assert.IsTrue(statuses.Keys.All(expected.Contains), seen);
        using var health = await served.Http.GetAsync("/health");
        Assert.AreEqual(HttpStatusCode.OK, health.StatusCode, await health.Content.ReadAsStringAsync());
        Assert.IsFalse(served.ErrorLog.Contains("failed inside", StringComparison.Ordinal), served.ErrorLog);
        Assert.IsFalse(served.ErrorLog.Contains("Failed to forward message", StringComparison.Ordinal), "Orleans' per-message warnings are muted without --verbose: " + served.ErrorLog);
    }

    /// <summary>A typed engine's CheckPoint zip of a hand-made model (one covariate): /predict serves it, the grains stream it.</summary>
    private (LmuForecastModel Model, string Zip) StreamingZip()
    {
        var model = ForecastTestModels.Create(HiddenCell.Dense, 1, LmuForecastScaling.PerWindow);
        var zip = Path.Combine(_temp, "stream.zip");
        ForecastEngineStateOnnx.Save(new MLContext(1), new LmuForecastEngine(model), "Value", zip);
        return (model, zip);
    }

    /// <summary><c>serve --series</c> on <paramref name="zip"/> with free silo and gateway ports, and <paramref name="options"/>.</summary>
    private Task<ServeProcess> StartSeriesAsync(string zip, params string[] options) => StartSeriesAsync(zip, new Dictionary<string, string>(), options);

    private Task<ServeProcess> StartSeriesAsync(string zip, IReadOnlyDictionary<string, string> environment, params string[] options) => ServeProcess.StartAsync(
        zip, _temp, environment, ["--series", .. options, "--silo-port", FreePort().ToString(CultureInfo.InvariantCulture), "--gateway-port", FreePort().ToString(CultureInfo.InvariantCulture)]);

    private static async Task<(HttpStatusCode Status, JsonElement Body)> Observe(ServeProcess served, string id, object reading)
    {
        using var response = await served.Http.PostAsJsonAsync($"/series/{id}/observe", reading);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, json.RootElement.Clone());
    }

    // System.Text.Json writes floats in their shortest round-trip form, so equality here is bit equality.
    private static void AssertForecast(LmuForecast? expected, JsonElement body, string what)
    {
        foreach (var (name, values) in new[] { ("forecast", expected?.Forecast), ("lower", expected?.LowerBound), ("upper", expected?.UpperBound) })
        {
            var actual = body.GetProperty(name);
            if (values is null)
            {
                Assert.AreEqual(JsonValueKind.Null, actual.ValueKind, $"{what}: {name}");
                continue;
            }

            CollectionAssert.AreEqual(values, actual.EnumerateArray().Select(v => v.GetSingle()).ToArray(), $"{what}: {name}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
