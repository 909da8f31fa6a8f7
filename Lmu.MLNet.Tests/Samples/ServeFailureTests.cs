using System.Net;
using System.Text;
using System.Text.Json;
using Lmu.MLNet.Samples.Serving;
using Lmu.MLNet.Tests.MLNet.Classification;
using Microsoft.AspNetCore.Builder;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>
/// The serve host and model service in this process (their sources are compiled into the tests), with a hook that
/// makes the scorer throw: an internal failure answers 500 with a JSON body that names nothing on the server and is
/// logged with its reason but no stack trace; three in a row make /health 503 with a reason until scoring works again.
/// </summary>
[TestClass]
public sealed class ServeFailureTests : ClassifierTestBase
{
    [TestMethod]
    [Timeout(180_000, CooperativeCancellation = true)]
    public async Task ScoringFailuresAnswer500WithJsonAreLoggedAndMakeHealth503UntilScoringRecovers()
    {
        var model = ServedClassifierZip.Create(Temp, MlTemp, rowCount: 2);
        using var service = new ModelService(model.Zip, poolSize: 2);
        var log = new RecordingLog();
        await using var app = ServeHost.Build(service, new ServeSettings(model.Zip, "http://127.0.0.1:0"), log);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromSeconds(30) };

        await AssertHealth(http, HttpStatusCode.OK, "ok");
        var (firstStatus, firstBody) = await Post(http, model.Request(0));
        Assert.IsNull(model.Mismatch(0, firstStatus, firstBody));

        const string Secret = "scorer broke reading /srv/secret/model-store";
        service.BeforeScore = _ => throw new InvalidOperationException(Secret);
        for (var failure = 1; failure <= ScoringHealth.Threshold; failure++)
        {
            // Healthy until the threshold: one failure is not yet a broken service.
            await AssertHealth(http, HttpStatusCode.OK, "ok");
            var (status, body) = await Post(http, model.Request(1));
            Assert.AreEqual(HttpStatusCode.InternalServerError, status, body);
            var error = JsonDocument.Parse(body).RootElement.GetProperty("error").GetString();
            Assert.IsFalse(string.IsNullOrWhiteSpace(error));
            Assert.DoesNotContain("/srv/secret", body, "a 500 must not pass internal messages to the caller");
        }

        var reason = await AssertHealth(http, HttpStatusCode.ServiceUnavailable, "unhealthy");
        StringAssert.Contains(reason, nameof(InvalidOperationException));
        Assert.DoesNotContain("/srv/secret", reason);

        var failures = log.Lines.Where(l => l.Contains(Secret, StringComparison.Ordinal)).ToArray();
        Assert.HasCount(ScoringHealth.Threshold, failures, string.Join('\n', log.Lines));
        Assert.IsTrue(failures.All(l => l.StartsWith("Error: POST /predict failed inside the service", StringComparison.Ordinal)), failures[0]);
        Assert.IsTrue(failures.All(l => !l.Contains(" at ", StringComparison.Ordinal)), $"no stack trace without --verbose: {failures[0]}");

        // A refused request is logged with its reason too, and does not count as a scoring failure.
        service.BeforeScore = null;
        var (badStatus, _) = await Post(http, "{\"Features\": [1, 2]}");
        Assert.AreEqual(HttpStatusCode.BadRequest, badStatus);
        Assert.IsTrue(log.Lines.Any(l => l.StartsWith("Warning: POST /predict answered 400", StringComparison.Ordinal) && l.Contains("the model expects", StringComparison.Ordinal)), string.Join('\n', log.Lines));
        await AssertHealth(http, HttpStatusCode.ServiceUnavailable, "unhealthy");

        var (okStatus, okBody) = await Post(http, model.Request(1));
        Assert.IsNull(model.Mismatch(1, okStatus, okBody));
        await AssertHealth(http, HttpStatusCode.OK, "ok");
    }

    [TestMethod]
    [Timeout(180_000, CooperativeCancellation = true)]
    public async Task WithVerboseAnInternalFailureIsLoggedWithItsStackTrace()
    {
        var model = ServedClassifierZip.Create(Temp, MlTemp, rowCount: 1);
        using var service = new ModelService(model.Zip, poolSize: 1) { BeforeScore = _ => throw new InvalidOperationException("scorer broke") };
        var log = new RecordingLog();
        await using var app = ServeHost.Build(service, new ServeSettings(model.Zip, "http://127.0.0.1:0", Verbose: true), log);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromSeconds(30) };

        var (status, body) = await Post(http, model.Request(0));
        Assert.AreEqual(HttpStatusCode.InternalServerError, status);
        Assert.IsTrue(JsonDocument.Parse(body).RootElement.TryGetProperty("error", out _), body);
        var line = log.Lines.Single(l => l.Contains("scorer broke", StringComparison.Ordinal));
        StringAssert.Contains(line, " at ", "the stack trace with --verbose");
    }

    [TestMethod]
    [Timeout(180_000, CooperativeCancellation = true)]
    public async Task ABodyDeclaredAsAnotherTypeThanJsonIs415NamingTheType()
    {
        // Found by QA: a form or text body was parsed as JSON anyway.
        var model = ServedClassifierZip.Create(Temp, MlTemp, rowCount: 1);
        using var service = new ModelService(model.Zip, poolSize: 1);
        var log = new RecordingLog();
        await using var app = ServeHost.Build(service, new ServeSettings(model.Zip, "http://127.0.0.1:0"), log);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromSeconds(30) };

        foreach (var type in new[] { "text/plain", "application/x-www-form-urlencoded", "application/xml" })
        {
            using var content = new StringContent(model.Request(0), Encoding.UTF8, type);
            using var response = await http.PostAsync("/predict", content);
            var body = await response.Content.ReadAsStringAsync();
            Assert.AreEqual(HttpStatusCode.UnsupportedMediaType, response.StatusCode, body);
            StringAssert.Contains(JsonDocument.Parse(body).RootElement.GetProperty("error").GetString(), $"declared as '{type}; charset=utf-8'");
        }

        // JSON declared in another charset than UTF-8 was read as UTF-8 anyway (found by QA): refused, naming it.
        using (var utf16 = new StringContent(model.Request(0), Encoding.Unicode, "application/json"))
        using (var response = await http.PostAsync("/predict", utf16))
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.AreEqual(HttpStatusCode.UnsupportedMediaType, response.StatusCode, body);
            StringAssert.Contains(JsonDocument.Parse(body).RootElement.GetProperty("error").GetString(), "declared in charset 'utf-16'");
        }

        // JSON with parameters, a structured JSON type and a body with no type at all are read.
        foreach (var type in new[] { "application/json; charset=utf-8", "application/json; charset=\"UTF-8\"", "application/vnd.lmu+json", null })
        {
            using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(model.Request(0)));
            if (type is not null)
            {
                content.Headers.TryAddWithoutValidation("Content-Type", type);
            }

            using var response = await http.PostAsync("/predict", content);
            Assert.IsNull(model.Mismatch(0, response.StatusCode, await response.Content.ReadAsStringAsync()), type ?? "no Content-Type");
        }

        Assert.IsTrue(log.Lines.Any(l => l.StartsWith("Warning: POST /predict answered 415", StringComparison.Ordinal)), string.Join('\n', log.Lines));
    }

    private static async Task<(HttpStatusCode Status, string Body)> Post(HttpClient http, string json)
    {
        using var response = await http.PostAsync("/predict", new StringContent(json, Encoding.UTF8, "application/json"));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Asserts /health's status code and JSON status; returns its reason (empty when none).</summary>
    private static async Task<string> AssertHealth(HttpClient http, HttpStatusCode expected, string status)
    {
        using var response = await http.GetAsync("/health");
        var body = await response.Content.ReadAsStringAsync();
        Assert.AreEqual(expected, response.StatusCode, body);
        var json = JsonDocument.Parse(body).RootElement;
        Assert.AreEqual(status, json.GetProperty("status").GetString());
        return json.TryGetProperty("reason", out var reason) ? reason.GetString() ?? string.Empty : string.Empty;
    }
}
