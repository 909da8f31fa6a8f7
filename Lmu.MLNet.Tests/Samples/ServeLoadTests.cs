using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Lmu.MLNet.Tests.MLNet.Classification;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>
/// <c>serve</c> under load: 64 clients x 200 requests at once, against one pooled engine and against the default pool.
/// Every request must answer 200 with exactly the offline scores (in-process Transform of the same zip), the process
/// must survive and /health must still say ok. Latency percentiles (after one untimed warm-up request per client) are
/// printed for the README.
/// </summary>
[TestClass]
public sealed class ServeLoadTests : ClassifierTestBase
{
    private const int Clients = 64;
    private const int RequestsPerClient = 200;

    [TestMethod]
    [Timeout(240_000, CooperativeCancellation = true)]
    [DataRow(1)]
    [DataRow(0)]
    public async Task SixtyFourClientsGetTheOfflinePredictionsWithoutAnError(int pool)
    {
        var model = ServedClassifierZip.Create(Temp, MlTemp);
        await using var served = await ServeProcess.StartAsync(model.Zip, Temp, "--pool", pool.ToString(CultureInfo.InvariantCulture));
        var bodies = Enumerable.Range(0, model.Rows.Count).Select(i => Encoding.UTF8.GetBytes(model.Request(i))).ToArray();

        using var budget = new CancellationTokenSource(TimeSpan.FromSeconds(150));
        var latencies = new double[Clients * RequestsPerClient];
        var errors = 0;
        var mismatches = 0;
        var problems = new List<string>();

        // Warm-up, not timed: one request per client opens its connection and JIT-compiles the server's path, so the
        // percentiles describe the steady state. Its answers are checked like the others.
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(async c =>
        {
            var i = c % model.Rows.Count;
            try
            {
                using var content = new ByteArrayContent(bodies[i]);
                content.Headers.ContentType = new("application/json");
                using var response = await served.Http.PostAsync("/predict", content, budget.Token);
                if (model.Mismatch(i, response.StatusCode, await response.Content.ReadAsStringAsync(budget.Token)) is { } problem)
                {
                    Interlocked.Increment(ref errors);
                    lock (problems) problems.Add($"warm-up client {c}: {problem}");
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                Interlocked.Increment(ref errors);
                lock (problems) problems.Add($"warm-up client {c}: {e.GetType().Name}: {e.Message}");
            }
        }));

        var clock = Stopwatch.StartNew();
        var clients = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            for (var k = 0; k < RequestsPerClient && !budget.IsCancellationRequested; k++)
            {
                var n = c * RequestsPerClient + k;
                var i = n % model.Rows.Count;
                var start = Stopwatch.GetTimestamp();
                string? problem;
                try
                {
                    using var content = new ByteArrayContent(bodies[i]);
                    content.Headers.ContentType = new("application/json");
                    using var response = await served.Http.PostAsync("/predict", content, budget.Token);
                    var body = await response.Content.ReadAsStringAsync(budget.Token);
                    latencies[n] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    problem = model.Mismatch(i, response.StatusCode, body);
                    if (problem is not null)
                    {
                        Interlocked.Increment(ref response.StatusCode == HttpStatusCode.OK ? ref mismatches : ref errors);
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    // A dead or hung server: counted, not thrown, so the figures below are still printed.
                    problem = $"{e.GetType().Name}: {e.Message}";
                    Interlocked.Increment(ref errors);
                }

                if (problem is not null)
                {
                    lock (problems) problems.Add($"client {c} request {k} row {i}: {problem}");
                }
            }
        }, CancellationToken.None)).ToArray();
        await Task.WhenAll(clients);
        var wall = clock.Elapsed;

        var answered = latencies.Where(l => l > 0).Order().ToArray();
        var p50 = answered.Length > 0 ? answered[answered.Length / 2] : double.NaN;
        var p99 = answered.Length > 0 ? answered[Math.Min(answered.Length - 1, (int)(answered.Length * 0.99))] : double.NaN;
        var label = pool == 0 ? "default" : pool.ToString(CultureInfo.InvariantCulture);
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"serve load, pool {label}: {Clients} clients x {RequestsPerClient} requests, {answered.Length} answered, {errors} errors, {mismatches} mismatches, p50 {p50:F2} ms, p99 {p99:F2} ms, {answered.Length / wall.TotalSeconds:F0} requests/s over {wall.TotalSeconds:F1} s"));

        Assert.IsFalse(budget.IsCancellationRequested, $"the load did not finish within the budget; {answered.Length} answered");
        Assert.AreEqual(0, errors, $"{errors} errors; first: {string.Join('\n', problems.Take(5))}\nserver log: {served.ErrorLog}");
        Assert.AreEqual(0, mismatches, string.Join('\n', problems.Take(5)));
        Assert.HasCount(Clients * RequestsPerClient, answered);
        Assert.IsFalse(served.Process.HasExited, "the server must survive the load");
        using var health = await served.Http.GetAsync("/health");
        Assert.AreEqual(HttpStatusCode.OK, health.StatusCode, await health.Content.ReadAsStringAsync());
    }
}
