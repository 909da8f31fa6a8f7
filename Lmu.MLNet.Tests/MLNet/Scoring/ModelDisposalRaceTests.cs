using Lmu.MLNet.Scoring;
using Lmu.MLNet.Tests.MLNet.Classification;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Scoring;

/// <summary>
/// Disposing a model while other threads score with it, found by QA to crash the process ("double free or
/// corruption", segmentation faults) on a fitted classifier and on a loaded zip: every running prediction or cursor
/// either finishes with the same scores as before or meets <see cref="ObjectDisposedException"/>, and the ONNX Runtime
/// sessions are released once, after the last call. Without the guard these tests take the test host down.
/// </summary>
[TestClass]
public sealed class ModelDisposalRaceTests : ClassifierTestBase
{
    private static readonly TimeSpan ScoringBeforeDispose = TimeSpan.FromMilliseconds(300);

    [TestMethod]
    [Timeout(180_000, CooperativeCancellation = true)]
    public void DisposingAFittedClassifierWhileEightEnginesAndACursorScoreEndsThemCleanly()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var rows = DelayedPatternData.Rows(16, 42);
        var model = ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 1)).Fit(ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(48, 41)));
        Race(ml, model, rows, [model.Guard]);
    }

    [TestMethod]
    [Timeout(180_000, CooperativeCancellation = true)]
    public void DisposingALoadedZipWhileEightEnginesAndACursorScoreEndsThemCleanly()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var rows = DelayedPatternData.Rows(16, 42);
        var data = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(48, 41));
        var zip = Path.Combine(Temp, "m.zip");
        using (var fitted = ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 1)).Fit(data))
        {
            LmuModelFile.Save(ml, fitted, data.Schema, zip);
        }

        var loaded = LmuModelFile.Load(ml, zip, out _);
        // Saved from the guarded model, the zip is ML.NET's plain chain again and scores the same.
        var again = Path.Combine(Temp, "again.zip");
        LmuModelFile.Save(ml, loaded, data.Schema, again);
        var plain = ml.Model.Load(again, out _);
        Assert.IsInstanceOfType<TransformerChain<ITransformer>>(plain);
        var expected = Scores(ml, loaded, rows);
        var fromPlain = Scores(ml, plain, rows);
        for (var i = 0; i < rows.Count; i++)
        {
            CollectionAssert.AreEqual(expected[i], fromPlain[i], $"row {i}");
        }

        (plain as IDisposable)?.Dispose();
        // LmuModelFile.Load keeps ML.NET's chain type; its ONNX scorer sits behind a guard inside it.
        Assert.IsInstanceOfType<TransformerChain<ITransformer>>(loaded);
        Race(ml, loaded, rows, Guards(loaded));
    }

    [TestMethod]
    [Timeout(180_000, CooperativeCancellation = true)]
    public void ACursorOpenWhenTheModelIsDisposedReadsToItsEndAndHoldsTheSessionUntilItIsDisposed()
    {
        // Found by review: ML.NET's cursor over an ONNX scorer scores rows ahead on worker threads, between the
        // consumer's own calls, so a dispose while the consumer paused released the session under those workers
        // ("Splitter/consolidator worker encountered exception", a NullReferenceException in InferenceSession.Run).
        var ml = ClassifierSetup.Context(MlTemp);
        var data = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(48, 41));
        var zip = Path.Combine(Temp, "m.zip");
        using (var fitted = ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 1)).Fit(data))
        {
            LmuModelFile.Save(ml, fitted, data.Schema, zip);
        }

        var rows = DelayedPatternData.Rows(5_000, 42);
        foreach (var model in new[] { LmuModelFile.Load(ml, zip, out _), ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 1)).Fit(data) })
        {
            var guards = Guards(model);
            var view = model.Transform(ml.Data.LoadFromEnumerable(rows));
            var expected = view.GetColumn<float[]>("Score").ToArray();
            var read = 0;
            using (var cursor = view.GetRowCursor(view.Schema.Where(c => c.Name == "Score")))
            {
                var getter = cursor.GetGetter<VBuffer<float>>(view.Schema["Score"]);
                VBuffer<float> score = default;
                while (cursor.MoveNext())
                {
                    getter(ref score);
                    CollectionAssert.AreEqual(expected[read], score.DenseValues().ToArray(), $"row {read}");
                    read++;
                    if (read % 16 == 0)
                    {
                        // The consumer pauses; ML.NET's workers go on scoring ahead.
                        Thread.Sleep(1);
                    }

                    if (read == 256)
                    {
                        // The dispose says that an open cursor keeps the session (a cursor never disposed keeps it for good).
                        var said = new StringWriter();
                        using (var listener = new System.Diagnostics.TextWriterTraceListener(said))
                        {
                            System.Diagnostics.Trace.Listeners.Add(listener);
                            try
                            {
                                ((IDisposable)model).Dispose();
                            }
                            finally
                            {
                                System.Diagnostics.Trace.Listeners.Remove(listener);
                            }

                            listener.Flush();
                        }

                        StringAssert.Contains(said.ToString(), "was disposed while ");
                        StringAssert.Contains(said.ToString(), " call(s) or cursor(s) were still open: its ONNX Runtime session is released when the last of them ends");
                        Assert.IsTrue(guards.All(g => !g.Released), "an open cursor keeps the session");
                    }
                }
            }

            Assert.AreEqual(rows.Count, read, "the cursor opened before the dispose reads to its end");
            Assert.IsTrue(guards.All(g => g.Released && g.Active == 0), "released once the cursor was disposed");
            Assert.Throws<ObjectDisposedException>(() => view.GetRowCursor(view.Schema.Where(c => c.Name == "Score")).Dispose());
        }
    }

    /// <summary>The guards inside <paramref name="model"/>: a fitted transformer's own, or those of a loaded chain's ONNX scorers.</summary>
    private static IReadOnlyList<ScoringGuard> Guards(ITransformer model) => model switch
    {
        OnnxCarriedTransformer carried => [carried.Guard],
        GuardedTransformer guarded => [guarded.Guard],
        IEnumerable<ITransformer> chain => chain.SelectMany(Guards).ToList(),
        _ => [],
    };

    [TestMethod]
    [Timeout(180_000, CooperativeCancellation = true)]
    public void AnEngineThatOwnsItsModelDisposesItForTheOtherEnginesWithAMessageSayingWhy()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var rows = DelayedPatternData.Rows(4, 42);
        using var model = ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 1)).Fit(ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(48, 41)));
        var owning = ml.Model.CreatePredictionEngine<PatternRow, PatternPrediction>(model);
        using var other = ml.Model.CreatePredictionEngine<PatternRow, PatternPrediction>(model, new PredictionEngineOptions { OwnsTransformer = false });
        var before = other.Predict(rows[0]).Score;
        CollectionAssert.AreEqual(before, owning.Predict(rows[0]).Score);

        // ML.NET's default: the engine owns the model, so disposing it disposes the model (QA saw heap corruption here).
        owning.Dispose();

        var e = Assert.Throws<ObjectDisposedException>(() => other.Predict(rows[1]));
        StringAssert.Contains(e.Message, "OwnsTransformer = false");
        Assert.Throws<ObjectDisposedException>(() => model.Transform(ml.Data.LoadFromEnumerable(rows)));
        Assert.IsTrue(model.Guard.Released);
    }

    private static float[][] Scores(MLContext ml, ITransformer model, IReadOnlyList<PatternRow> rows) =>
        model.Transform(ml.Data.LoadFromEnumerable(rows)).GetColumn<float[]>("Score").ToArray();

    private static void Race(MLContext ml, ITransformer model, IReadOnlyList<PatternRow> rows, IReadOnlyList<ScoringGuard> guards)
    {
        var expected = Scores(ml, model, rows);
        var options = new PredictionEngineOptions { OwnsTransformer = false };
        var engines = Enumerable.Range(0, 8).Select(_ => ml.Model.CreatePredictionEngine<PatternRow, PatternPrediction>(model, options)).ToList();
        // A view made before the dispose, read by a cursor that keeps moving through it.
        var view = model.Transform(ml.Data.LoadFromEnumerable(Enumerable.Range(0, 64).Select(i => rows[i % rows.Count]).ToList()));
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var predictions = new int[engines.Count + 1];
        var sawDisposed = new bool[engines.Count + 1];
        using var start = new Barrier(engines.Count + 2);
        // Each scorer signals once, after its first score or when it stops: the dispose waits for all of them. A fixed
        // sleep alone let the dispose come before a scorer's first score on a loaded 2-core machine (1 run in 24, QA).
        using var firstScores = new CountdownEvent(engines.Count + 1);
        var signalled = new int[engines.Count + 1];
        void FirstScore(int t)
        {
            if (Interlocked.Exchange(ref signalled[t], 1) == 0)
            {
                firstScores.Signal();
            }
        }

        var threads = engines.Select((engine, t) => new Thread(() =>
        {
            start.SignalAndWait();
            try
            {
                for (var i = 0; ; i++)
                {
                    try
                    {
                        var score = engine.Predict(rows[i % rows.Count]).Score;
                        if (!score.SequenceEqual(expected[i % rows.Count]))
                        {
                            failures.Enqueue($"engine {t}, row {i % rows.Count}: scores differ");
                        }

                        predictions[t]++;
                        FirstScore(t);
                    }
                    catch (ObjectDisposedException)
                    {
                        sawDisposed[t] = true;
                        return;
                    }
                    catch (Exception e)
                    {
                        failures.Enqueue($"engine {t}: {e.GetType().Name}: {e.Message}");
                        return;
                    }
                }
            }
            finally
            {
                FirstScore(t);
            }
        })).Append(new Thread(() =>
        {
            start.SignalAndWait();
            try
            {
                while (true)
                {
                    using var cursor = view.GetRowCursor(view.Schema.Where(c => c.Name == "Score"));
                    var getter = cursor.GetGetter<VBuffer<float>>(view.Schema["Score"]);
                    VBuffer<float> score = default;
                    for (var i = 0; cursor.MoveNext(); i++)
                    {
                        getter(ref score);
                        if (!score.DenseValues().SequenceEqual(expected[i % rows.Count]))
                        {
                            failures.Enqueue($"cursor, row {i}: scores differ");
                        }

                        predictions[^1]++;
                        FirstScore(engines.Count);
                    }
                }
            }
            catch (ObjectDisposedException)
            {
                sawDisposed[^1] = true;
            }
            catch (Exception e)
            {
                failures.Enqueue($"cursor: {e.GetType().Name}: {e.Message}");
            }
            finally
            {
                FirstScore(engines.Count);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        start.SignalAndWait();
        var allScored = firstScores.Wait(TimeSpan.FromMinutes(2));
        Thread.Sleep(ScoringBeforeDispose);
        ((IDisposable)model).Dispose();
        threads.ForEach(t => t.Join());
        engines.ForEach(e => e.Dispose());

        Assert.IsEmpty(failures, string.Join("\n", failures.Take(10)));
        Assert.IsTrue(allScored, "the scorers did not all score or stop within 2 minutes");
        for (var t = 0; t < predictions.Length; t++)
        {
            Assert.IsGreaterThan(0, predictions[t], $"scorer {t} never scored before the dispose");
            Assert.IsTrue(sawDisposed[t], $"scorer {t} did not meet the dispose");
        }

        Assert.IsNotEmpty(guards);
        Assert.IsTrue(guards.All(g => g.Released && g.Active == 0), "the sessions are released once scoring has stopped");
    }
}
