using System.Text.Json;
using Lmu.MLNet.Samples.Serving;
using Lmu.MLNet.Tests.MLNet.Classification;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>
/// The serve command's model service in this process: with every engine busy a request waits and is then served
/// (not failed), and shutdown waits for a running prediction before it disposes the engines and the shared model,
/// refusing new work meanwhile.
/// </summary>
[TestClass]
public sealed class ServePoolTests : ClassifierTestBase
{
    private static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(500);

    [TestMethod]
    [Timeout(120_000, CooperativeCancellation = true)]
    public async Task ARequestBeyondThePoolWaitsForTheEngineAndIsServed()
    {
        var model = ServedClassifierZip.Create(Temp, MlTemp, rowCount: 2);
        using var service = new ModelService(model.Zip, poolSize: 1);
        using var gate = new ManualResetEventSlim();
        var holding = new TaskCompletionSource();
        service.BeforeScore = _ =>
        {
            holding.TrySetResult();
            gate.Wait(TimeSpan.FromSeconds(60));
        };

        var first = Task.Run(() => Predict(service, model, 0));
        await holding.Task.WaitAsync(TimeSpan.FromSeconds(30));
        service.BeforeScore = null;
        var second = Task.Run(() => Predict(service, model, 1));
        await Task.Delay(Settle);
        Assert.IsFalse(second.IsCompleted, "with the only engine busy, the second request must wait, not fail or bring its own engine");

        gate.Set();
        Assert.IsNull(await first);
        Assert.IsNull(await second);
        Assert.IsNull(service.HealthProblem);
    }

    [TestMethod]
    [Timeout(120_000, CooperativeCancellation = true)]
    public async Task ShutdownWaitsForTheRunningPredictionThenDisposesOnceAndRefusesNewWork()
    {
        var model = ServedClassifierZip.Create(Temp, MlTemp, rowCount: 2);
        var service = new ModelService(model.Zip, poolSize: 2);
        using var gate = new ManualResetEventSlim();
        var holding = new TaskCompletionSource();
        service.BeforeScore = _ =>
        {
            holding.TrySetResult();
            gate.Wait(TimeSpan.FromSeconds(60));
        };

        var running = Task.Run(() => Predict(service, model, 0));
        await holding.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var shutdown = Task.Run(service.Dispose);
        // Wait until Dispose has begun (it closes the pool first): a fixed delay alone was too short on a loaded machine,
        // where the task may not have started yet.
        var started = System.Diagnostics.Stopwatch.StartNew();
        while (service.HealthProblem is null && started.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(20);
        }

        Assert.IsNotNull(service.HealthProblem, "a closing service is not healthy");
        await Task.Delay(Settle);
        Assert.IsFalse(shutdown.IsCompleted, "Dispose must wait for the running prediction");
        await Assert.ThrowsExactlyAsync<ServingUnavailableException>(() => Predict(service, model, 1));

        gate.Set();
        // The running prediction finishes on the still-open ONNX session, with the offline answer.
        Assert.IsNull(await running);
        await shutdown.WaitAsync(TimeSpan.FromSeconds(30));
        service.Dispose();
    }

    /// <summary>Scores row <paramref name="i"/>; null when the answer is the offline one, else what differs.</summary>
    private static async Task<string?> Predict(ModelService service, ServedClassifierZip model, int i)
    {
        using var request = JsonDocument.Parse(model.Request(i));
        var answer = await service.PredictAsync(request.RootElement, CancellationToken.None);
        var body = JsonSerializer.Serialize(answer);
        return model.Mismatch(i, System.Net.HttpStatusCode.OK, body);
    }
}
