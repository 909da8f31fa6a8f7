using Lmu.MLNet.Classification;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Samples.Soak;

/// <summary>
/// The soak's concurrency workloads: a model disposed while engines and a cursor score with it (fitted and loaded from
/// a zip), one engine called by four threads at once, two seeded Fits at once that must equal each other bit for bit, and one layer scoring many lengths on two
/// threads while its bounded response cache evicts what the other thread reads. Each throws on anything but the
/// documented outcome, so the soak counts it as a failure.
/// </summary>
internal static class SoakConcurrency
{
    private sealed class Prediction
    {
        public float[] Score { get; set; } = [];
    }

    /// <summary>Scores a fitted classifier and its loaded zip from four engines each while the model is disposed.</summary>
    public static string ScoringDispose(int seed, string temp)
    {
        var predictions = OnFittedAndLoaded(seed, temp, Race);
        return $"{predictions} predictions, every scorer stopped by ObjectDisposedException";
    }

    /// <summary>
    /// A small classifier fitted on the soak's rows and saved to a zip under <paramref name="temp"/>; <paramref name="use"/>
    /// runs on the fitted model, then on the loaded zip, each disposed after it (again, where <paramref name="use"/> did);
    /// returns the sum of what it returned.
    /// </summary>
    private static long OnFittedAndLoaded(int seed, string temp, Func<MLContext, ITransformer, IReadOnlyList<SoakData.SequenceRow>, long> use)
    {
        var ml = new MLContext(seed) { TempFilePath = temp };
        var rows = SoakData.Sequences(64, seed).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var options = new LmuClassifierOptions
        {
            Layer = new LmuLayerOptions { Order = 16, HiddenCell = HiddenCell.Dense, HiddenUnits = 16 },
            Training = new LmuTrainingOptions { Epochs = 1, BatchSize = 32, Seed = seed },
        };
        var zip = Path.Combine(temp, $"soak-{Guid.NewGuid():N}.zip");
        long total = 0;
        try
        {
            var fitted = ml.Transforms.LmuClassifier(options).Fit(ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data));
            LmuModelFile.Save(ml, fitted, data.Schema, zip);
            foreach (var load in new Func<ITransformer>[] { () => fitted, () => LmuModelFile.Load(ml, zip, out _) })
            {
                var model = load();
                try
                {
                    total += use(ml, model, rows);
                }
                finally
                {
                    ((IDisposable)model).Dispose();
                }
            }
        }
        finally
        {
            File.Delete(zip);
        }

        return total;
    }

    /// <summary>
    /// One layer shared by two threads that score rows of 40 lengths in random order, its impulse-response cache held to
    /// 256 KiB so that each thread evicts lengths the other is reading: every output must equal the single-threaded one.
    /// </summary>
    public static string LayerLengths(int seed)
    {
        using var layer = new LmuLayer(new LmuLayerOptions { Order = 32, Theta = 200, HiddenCell = HiddenCell.Dense, HiddenUnits = 8, InputSize = 2 });
        layer.eval();
        layer.Dynamics.ResponseCacheBudget = 256 << 10;
        var lengths = Enumerable.Range(0, 40).Select(i => 100 + (7 * i)).ToArray();
        using var x = TorchSharp.torch.randn(3, lengths.Max(), 2, generator: new TorchSharp.torch.Generator((ulong)seed));
        float[] Score(int t)
        {
            using var scope = TorchSharp.torch.NewDisposeScope();
            using var noGrad = TorchSharp.torch.no_grad();
            return layer.ForwardLast(x.narrow(1, 0, t)).data<float>().ToArray();
        }

        var expected = lengths.ToDictionary(t => t, Score);
        var evicted = layer.Dynamics.ResponseEvictions;
        var passes = 0;
        Parallel.For(0, 2, new ParallelOptions { MaxDegreeOfParallelism = 2 }, k =>
        {
            var rng = new Random(seed + k);
            for (var i = 0; i < 150; i++)
            {
                var t = lengths[rng.Next(lengths.Length)];
                if (!Score(t).SequenceEqual(expected[t]))
                {
                    throw new InvalidOperationException($"Thread {k}: the output for T = {t} differs from the single-threaded one.");
                }

                Interlocked.Increment(ref passes);
            }
        });
        return $"{passes} passes over 40 lengths on 2 threads identical, {layer.Dynamics.ResponseEvictions - evicted} evictions";
    }

    /// <summary>Two seeded Fits at once: their scores must be identical.</summary>
    public static string ConcurrentFits(int seed, int threads)
    {
        var rows = SoakData.Sequences(120, seed).ToList();
        float[][] Fit()
        {
            var ml = new MLContext(seed);
            var data = ml.Data.LoadFromEnumerable(rows);
            var options = new LmuClassifierOptions
            {
                Layer = new LmuLayerOptions { Order = 12, HiddenCell = HiddenCell.SimpleRnn, HiddenUnits = 8, HiddenToMemory = true, Dropout = 0.1 },
                HeadHiddenSizes = [16],
                HeadDropout = 0.2,
                Training = new LmuTrainingOptions { Epochs = 2, BatchSize = 32, LearningRate = 3e-3 },
                TorchThreads = threads,
            };
            var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data);
            using var model = ml.Transforms.LmuClassifier(options).Fit(keyed);
            return model.Transform(keyed).GetColumn<float[]>("Score").ToArray();
        }

        var results = new float[2][][];
        Parallel.For(0, 2, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i => results[i] = Fit());
        for (var r = 0; r < rows.Count; r++)
        {
            if (!results[0][r].SequenceEqual(results[1][r]))
            {
                throw new InvalidOperationException($"Two concurrent Fits with seed {seed} differ at row {r}.");
            }
        }

        return $"2 concurrent fits identical over {rows.Count} rows";
    }

    /// <summary>
    /// One PredictionEngine of a fitted classifier, and one of its loaded zip, each called by four threads at once (a
    /// misuse that ended the process before the overlap check): every call must score or refuse with the check's
    /// InvalidOperationException, each thread's output object sized as <see cref="SharedEngineOutcome"/> says, and the
    /// engine, used by one thread again, must score as a fresh one.
    /// </summary>
    public static string SharedEngine(int seed, string temp)
    {
        int refused = 0, scored = 0;
        OnFittedAndLoaded(seed, temp, (ml, model, rows) =>
        {
            var (r, s) = Share(ml, model, rows);
            refused += r;
            scored += s;
            return 0;
        });
        return $"{scored} calls scored, {refused} overlapping calls refused";
    }

    private static (int Refused, int Scored) Share(MLContext ml, ITransformer model, IReadOnlyList<SoakData.SequenceRow> rows)
    {
        var options = new PredictionEngineOptions { OwnsTransformer = false };
        using var engine = ml.Model.CreatePredictionEngine<SoakData.SequenceRow, Prediction>(model, options);
        var classes = SharedEngineOutcome.Sized(engine, "Score");
        int refused = 0, scored = 0;
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, t =>
        {
            var prediction = new Prediction { Score = new float[classes] };
            for (var i = 0; i < 200; i++)
            {
                try
                {
                    engine.Predict(rows[(t + i) % rows.Count], ref prediction);
                    Interlocked.Increment(ref scored);
                }
                catch (Exception e) when (SharedEngineOutcome.IsOverlapRefusal(e))
                {
                    Interlocked.Increment(ref refused);
                }
            }
        });
        using var fresh = ml.Model.CreatePredictionEngine<SoakData.SequenceRow, Prediction>(model, options);
        foreach (var row in rows)
        {
            if (!engine.Predict(row).Score.SequenceEqual(fresh.Predict(row).Score))
            {
                throw new InvalidOperationException("The shared engine, used by one thread again, scored differently from a fresh one.");
            }
        }

        return (refused, scored);
    }

    private static long Race(MLContext ml, ITransformer model, IReadOnlyList<SoakData.SequenceRow> rows)
    {
        var engines = Enumerable.Range(0, 4)
            .Select(_ => ml.Model.CreatePredictionEngine<SoakData.SequenceRow, Prediction>(model, new PredictionEngineOptions { OwnsTransformer = false }))
            .ToList();
        var expected = engines[0].Predict(rows[0]).Score;
        long count = 0;
        var unexpected = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var tasks = engines.Select(engine => Task.Run(() =>
        {
            try
            {
                while (true)
                {
                    if (!engine.Predict(rows[0]).Score.SequenceEqual(expected))
                    {
                        throw new InvalidOperationException("A prediction before the dispose differed from the first one.");
                    }

                    Interlocked.Increment(ref count);
                }
            }
            catch (ObjectDisposedException)
            {
            }
            catch (Exception e)
            {
                unexpected.Enqueue(e);
            }
        })).ToArray();
        Thread.Sleep(200);
        ((IDisposable)model).Dispose();
        Task.WaitAll(tasks);
        engines.ForEach(e => e.Dispose());
        return unexpected.TryDequeue(out var first) ? throw new InvalidOperationException($"A scorer failed other than by ObjectDisposedException: {first.Message}", first) : count;
    }
}
