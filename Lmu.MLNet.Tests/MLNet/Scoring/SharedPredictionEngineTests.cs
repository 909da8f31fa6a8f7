using Lmu.MLNet.Samples.Soak;
using Lmu.MLNet.Tests.MLNet.Classification;
using Microsoft.ML;

namespace Lmu.MLNet.Tests.MLNet.Scoring;

/// <summary>
/// One PredictionEngine called by 8 threads at once (ML.NET documents the engine as not thread-safe): QA found the
/// process ended in every run ("double free or corruption", "malloc_consolidate()", segmentation faults), for fitted
/// and loaded models alike, since the engine's ONNX scorer freed its native outputs from two threads. A call that
/// overlaps another now fails with an exception that says what to do; without the check these tests take the test
/// host down. Each thread's output object has its Score sized to the output: ML.NET's own copy of the output into a
/// shorter array, outside the library's getters, failed when calls overlapped (CI saw "Destination is too short"
/// once; <see cref="SharedEngineOutcome"/>). Any exception but the check's refusal is a failure.
/// </summary>
[TestClass]
public sealed class SharedPredictionEngineTests : ClassifierTestBase
{
    [TestMethod]
    [Timeout(180_000, CooperativeCancellation = true)]
    public void AFittedClassifiersEngineSharedByThreadsThrowsInsteadOfEndingTheProcess()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        using var model = ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 1)).Fit(ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(48, 41)));
        Share(ml, model);
    }

    [TestMethod]
    [Timeout(180_000, CooperativeCancellation = true)]
    public void ALoadedZipsEngineSharedByThreadsThrowsInsteadOfEndingTheProcess()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var data = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(48, 41));
        var zip = Path.Combine(Temp, "shared.zip");
        using (var fitted = ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 1)).Fit(data))
        {
            LmuModelFile.Save(ml, fitted, data.Schema, zip);
        }

        var loaded = LmuModelFile.Load(ml, zip, out _);
        try
        {
            Share(ml, loaded);
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }
    }

    private static void Share(MLContext ml, ITransformer model)
    {
        var rows = DelayedPatternData.Rows(16, 42);
        using var engine = ml.Model.CreatePredictionEngine<PatternRow, PatternPrediction>(model, new PredictionEngineOptions { OwnsTransformer = false });
        var overlaps = 0;
        var succeeded = 0;
        var unexpected = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var classes = SharedEngineOutcome.Sized(engine, "Score");
        using var start = new Barrier(8);
        var calls = 0;
        // 150 calls each, and on until the first overlap (or 30 s): on a machine whose cores are taken by other work the
        // threads ran one after another within their time slices, and 1,200 calls of ~30 us never overlapped (CI check
        // with a build beside it).
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
        {
            var prediction = new PatternPrediction { Score = new float[classes] };
            start.SignalAndWait();
            for (var i = 0; i < 150 || (Volatile.Read(ref overlaps) == 0 && DateTime.UtcNow < deadline); i++)
            {
                Interlocked.Increment(ref calls);
                try
                {
                    engine.Predict(rows[(t + i) % rows.Count], ref prediction);
                    Interlocked.Increment(ref succeeded);
                }
                catch (Exception e) when (SharedEngineOutcome.IsOverlapRefusal(e))
                {
                    Interlocked.Increment(ref overlaps);
                }
                catch (Exception e)
                {
                    unexpected.Enqueue(e);
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        // The process survives to count; an exception from the library's own code (not its refusal) fails.
        Assert.IsEmpty(unexpected, string.Join("\n\n", unexpected.Take(3)));
        Assert.AreEqual(calls, overlaps + succeeded);
        // Eight threads released together on one engine collide (hundreds of times on the 2-core VM).
        Assert.IsGreaterThan(0, overlaps, $"{succeeded} calls succeeded, none overlapped");
        // Used by one thread again, the engine scores as a fresh one.
        using var fresh = ml.Model.CreatePredictionEngine<PatternRow, PatternPrediction>(model, new PredictionEngineOptions { OwnsTransformer = false });
        foreach (var row in rows)
        {
            CollectionAssert.AreEqual(fresh.Predict(row).Score, engine.Predict(row).Score);
        }
    }
}
