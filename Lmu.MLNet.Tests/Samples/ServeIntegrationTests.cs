using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Lmu.MLNet.Tests.Infrastructure;
using Lmu.MLNet.Tests.MLNet.Classification;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>
/// The Samples app's <c>serve</c> command, started on loopback from a copy of the app WITHOUT libtorch: concurrent
/// clients get exactly the offline predictions, bad requests get 400 with a message, and the test stops the server.
/// </summary>
[TestClass]
public sealed class ServeIntegrationTests : ClassifierTestBase
{
    private const int Clients = 40;
    private const int RequestsPerClient = 5;

    [TestMethod]
    [Timeout(180_000, CooperativeCancellation = true)]
    public async Task ConcurrentClientsGetTheOfflinePredictionsAndBadRequestsGet400()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var data = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(96, 41));
        var rows = DelayedPatternData.Rows(24, 42);
        var zip = Path.Combine(Temp, "m.zip");
        float[][] expectedScores;
        string[] expectedLabels;
        string[] classes;
        using (var model = ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 2)).Fit(data))
        {
            ml.Model.Save(model, data.Schema, zip);
            // Offline: the saved file, loaded and scored in this process with ML.NET's batch Transform.
            var loaded = ml.Model.Load(zip, out _);
            var scored = loaded.Transform(ml.Data.LoadFromEnumerable(rows));
            expectedScores = scored.GetColumn<float[]>("Score").ToArray();
            var keys = scored.GetColumn<uint>("PredictedLabel").ToArray();
            VBuffer<ReadOnlyMemory<char>> keyValues = default;
            scored.Schema["PredictedLabel"].GetKeyValues(ref keyValues);
            classes = keyValues.DenseValues().Select(v => v.ToString()).ToArray();
            expectedLabels = keys.Select(k => classes[(int)k - 1]).ToArray();
            (loaded as IDisposable)?.Dispose();
        }

        await using var served = await ServeProcess.StartAsync(zip, Temp);
        var http = served.Http;
        Assert.AreEqual(HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);
        var root = await served.DescribeAsync();
        Assert.AreEqual("classifier", root.GetProperty("kind").GetString());
        CollectionAssert.AreEqual(classes, root.GetProperty("classes").EnumerateArray().Select(c => c.GetString()).ToArray());
        Assert.AreEqual(JsonValueKind.Null, root.GetProperty("horizon").ValueKind);
        var features = root.GetProperty("inputs").EnumerateArray().Single(i => i.GetProperty("name").GetString() == "Features");
        Assert.AreEqual(DelayedPatternData.Steps, features.GetProperty("size").GetInt32());
        Assert.IsTrue(features.GetProperty("required").GetBoolean());
        // A path no route takes is a JSON 404 naming the routes (serve QA: an empty body).
        using (var unknown = await http.GetAsync("/predictions"))
        {
            Assert.AreEqual(HttpStatusCode.NotFound, unknown.StatusCode);
            StringAssert.Contains(await unknown.Content.ReadAsStringAsync(), "No route GET /predictions: this service answers POST /predict, GET /health and GET /model.");
        }

        using (var wrongMethod = await http.GetAsync("/predict"))
        {
            Assert.AreEqual(HttpStatusCode.MethodNotAllowed, wrongMethod.StatusCode);
            StringAssert.Contains(await wrongMethod.Content.ReadAsStringAsync(), "/predict does not answer GET: this service answers POST /predict, GET /health and GET /model.");
        }

        // 40 clients x 5 requests at once, each row's answer checked against the offline prediction.
        using var budget = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var failures = new List<string>();
        var clients = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            for (var k = 0; k < RequestsPerClient; k++)
            {
                var i = (c * RequestsPerClient + k) % rows.Count;
                using var response = await http.PostAsJsonAsync("/predict", new { Features = rows[i].Features }, budget.Token);
                var body = await response.Content.ReadAsStringAsync(budget.Token);
                var problem = Check(response.StatusCode, body, expectedScores[i], expectedLabels[i]);
                if (problem is not null)
                {
                    lock (failures) failures.Add($"client {c} row {i}: {problem}");
                }
            }
        }, budget.Token)).ToArray();
        await Task.WhenAll(clients);
        Assert.IsEmpty(failures, string.Join('\n', failures.Take(5)));

        await served.AssertBadRequest("{\"Features\": [1, 2", "not valid JSON");
        await served.AssertBadRequest("{\"Features\": [1, 2, 3]}", $"the model expects {DelayedPatternData.Steps}");
        await served.AssertBadRequest("{\"Other\": 1}", "Missing field 'Features'");
        await served.AssertBadRequest("[1, 2, 3]", "must be a JSON object");

        // A field given twice was read silently (the last of two "Features", or the exact spelling over another case; QA).
        var values = JsonSerializer.Serialize(rows[0].Features);
        await served.AssertBadRequest($"{{\"Features\": {values}, \"Features\": {values}}}", "The body gives a field twice: Duplicate property 'Features'");
        await served.AssertBadRequest($"{{\"features\": {values}, \"Features\": {values}}}", "Field 'Features' is given twice, as 'features' and 'Features' (field names match without regard to case); send it once.");
        using (var response = await http.PostAsync("/predict", new StringContent($"{{\"FEATURES\": {values}}}", System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, "one field in another case is still read");
        }

        // Fields the model does not read are ignored (README: a client may send whole records), and change nothing.
        using (var response = await http.PostAsync("/predict", new StringContent($"{{\"Id\": 7, \"Features\": {values}, \"Note\": {{\"a\": [1]}}}}", System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.IsNull(Check(response.StatusCode, await response.Content.ReadAsStringAsync(), expectedScores[0], expectedLabels[0]));
        }

        // Bytes that are not UTF-8 in a field name or a text value were answered 500 ("Cannot transcode invalid UTF-8
        // JSON text"), as a server fault (QA).
        byte[] badName = [.. "{\"Fe"u8, 0xFF, .. "atures\": "u8, .. System.Text.Encoding.UTF8.GetBytes(values), .. "}"u8];
        await served.AssertBadRequest(badName, "The body is not valid JSON: the byte at offset 4 (0xFF) is not UTF-8 text; JSON bodies are UTF-8.");
        byte[] badValue = [.. "{\"Features\": "u8, .. System.Text.Encoding.UTF8.GetBytes(values), .. ", \"Label\": \"caf"u8, 0xE9, .. "\"}"u8];
        await served.AssertBadRequest(badValue, "is not UTF-8 text");
        // A \u escape that is not UTF-16 text (a lone surrogate) in a name or a value parsed, then failed the read: 500,
        // logged once per request (hostile-clients QA).
        await served.AssertBadRequest($"{{\"\\udc00\": 1, \"Features\": {values}}}", "The body is not valid JSON: a field name has a \\u escape that is not UTF-16 text");
        await served.AssertBadRequest($"{{\"Features\": {values}, \"Label\": \"\\ud800\"}}", "The body is not valid JSON: a string has a \\u escape that is not UTF-16 text");
        using (var marked = new ByteArrayContent([0xEF, 0xBB, 0xBF, .. System.Text.Encoding.UTF8.GetBytes($"{{\"Features\": {values}}}")]))
        {
            marked.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using var response = await http.PostAsync("/predict", marked);
            Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, "a UTF-8 byte-order mark before the JSON is skipped");
        }
        Assert.IsFalse(SamplesApp.TorchLoaded(served.Process.Id), "the service process must not load libtorch");
        Assert.IsFalse(served.Process.HasExited, "the server must still be running after bad requests");
    }

    private static string? Check(HttpStatusCode status, string body, float[] scores, string label)
    {
        if (status != HttpStatusCode.OK)
        {
            return $"{(int)status}: {body}";
        }

        using var json = JsonDocument.Parse(body);
        // System.Text.Json writes floats in their shortest round-trip form, so equality here is bit equality.
        var got = json.RootElement.GetProperty("Score").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        if (!got.SequenceEqual(scores))
        {
            return $"scores {string.Join(',', got)} != offline {string.Join(',', scores)}";
        }

        var predicted = json.RootElement.GetProperty("PredictedLabel").GetString();
        return predicted == label ? null : $"label {predicted} != offline {label}";
    }
}
