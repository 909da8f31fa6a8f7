using System.Diagnostics;
using Lmu.MLNet.Classification;
using Lmu.MLNet.Modules;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;

namespace Lmu.MLNet.Samples.Bench;

/// <summary>
/// Single-row scoring latency of a saved-and-loaded classifier through an ML.NET PredictionEngine (ONNX Runtime), next
/// to the TorchSharp forward of the same trained network for one row. Median and p99 in microseconds.
/// </summary>
internal static class LatencyBenchmark
{
    public sealed record Settings(string Config, int Steps, int Iterations, int Warmup, int Threads);

    public static int Run(Settings s)
    {
        torch.set_num_threads(s.Threads);
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}, torch threads {s.Threads}");
        Console.WriteLine($"config: {s}");
        var temp = Path.Combine(Path.GetTempPath(), $"lmu-latency-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            var ml = new MLContext(0) { TempFilePath = temp };
            var rng = new Random(0);
            var rows = Enumerable.Range(0, 64).Select(i => new Row { Label = (i % 2).ToString(System.Globalization.CultureInfo.InvariantCulture), Features = Random(rng, s.Steps) }).ToList();
            var definition = SchemaDefinition.Create(typeof(Row));
            definition["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, s.Steps);
            var data = ml.Data.LoadFromEnumerable(rows, definition);
            var estimator = ml.Transforms.LmuClassifier(Options(s.Config));
            (double Median, double P99) torchLatency = default;
            var probe = Random(rng, s.Steps);
            estimator.InspectTrainedNetwork = net =>
            {
                using var x = torch.tensor(probe, [1, s.Steps, 1]);
                torchLatency = Measure(s, () =>
                {
                    using var noGrad = torch.no_grad();
                    using var y = net.forward(x);
                    _ = y.data<float>()[0];
                });
            };
            var zip = Path.Combine(temp, "m.zip");
            using (var model = estimator.Fit(data))
            {
                ml.Model.Save(model, data.Schema, zip);
            }

            var loadContext = new MLContext(0) { TempFilePath = temp };
            var loaded = loadContext.Model.Load(zip, out _);
            // The same zip through LmuModelFile.Load: its ONNX scorer behind the guard that counts each call in and out.
            var guarded = LmuModelFile.Load(loadContext, zip, out _);
            // The engines borrow the loaded models; each model is disposed once, after its engine.
            var options = new PredictionEngineOptions { InputSchemaDefinition = definition, OwnsTransformer = false };
            var engine = ml.Model.CreatePredictionEngine<Row, Prediction>(loaded, options);
            var guardedEngine = ml.Model.CreatePredictionEngine<Row, Prediction>(guarded, options);
            var row = new Row { Features = probe };
            // Alternated, four rounds each (the second-lowest of the four medians reported), so drift of the machine falls on both.
            var rounds = Enumerable.Range(0, 8).Select(i => (Guarded: i % 2 == 1, Stats: Measure(s, i % 2 == 1 ? () => guardedEngine.Predict(row) : () => engine.Predict(row)))).ToList();
            (double Median, double P99) Middle(bool guardedSide) => rounds.Where(r => r.Guarded == guardedSide).Select(r => r.Stats).OrderBy(x => x.Median).ElementAt(1);
            var ort = Middle(false);
            var ortGuarded = Middle(true);
            engine.Dispose();
            guardedEngine.Dispose();
            (loaded as IDisposable)?.Dispose();
            (guarded as IDisposable)?.Dispose();
            Console.WriteLine();
            Console.WriteLine("| path | median (us) | p99 (us) |");
            Console.WriteLine("|---|---|---|");
            Console.WriteLine($"| loaded zip, PredictionEngine (ONNX Runtime) | {ort.Median:F1} | {ort.P99:F1} |");
            Console.WriteLine($"| the same through LmuModelFile.Load (guarded scorer) | {ortGuarded.Median:F1} | {ortGuarded.P99:F1} |");
            Console.WriteLine($"rounds (median us, plain/guarded alternated): {string.Join(", ", rounds.Select(r => $"{(r.Guarded ? "guarded" : "plain")} {r.Stats.Median:F1}"))}");
            Console.WriteLine($"| TorchSharp forward, 1 row | {torchLatency.Median:F1} | {torchLatency.P99:F1} |");
            return 0;
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    private static LmuClassifierOptions Options(string config) => config switch
    {
        // The psMNIST model: feed-forward memory, parallel last-step path, MLP head.
        "ff" => new LmuClassifierOptions { Layer = new LmuLayerOptions { Order = 256, HiddenCell = HiddenCell.None }, HeadHiddenSizes = [500], Training = new() { Epochs = 1 } },
        // A recurrent LMU (hidden-to-memory): fused scan in torch, ONNX Scan in the carried graph.
        "rnn" => new LmuClassifierOptions { Layer = new LmuLayerOptions { Order = 64, HiddenCell = HiddenCell.SimpleRnn, HiddenUnits = 64, HiddenToMemory = true }, Training = new() { Epochs = 1 } },
        _ => throw new ArgumentException($"Unknown latency config '{config}' (ff, rnn)."),
    };

    private static (double Median, double P99) Measure(Settings s, Action once)
    {
        for (var i = 0; i < s.Warmup; i++) once();
        var samples = new double[s.Iterations];
        var clock = new Stopwatch();
        for (var i = 0; i < s.Iterations; i++)
        {
            clock.Restart();
            once();
            samples[i] = clock.Elapsed.TotalMicroseconds;
        }

        Array.Sort(samples);
        return (samples[samples.Length / 2], samples[Math.Min(samples.Length - 1, (int)Math.Ceiling(samples.Length * 0.99) - 1)]);
    }

    private static float[] Random(Random rng, int n) => Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).ToArray();

    private sealed class Row
    {
        public string Label { get; set; } = string.Empty;

        public float[] Features { get; set; } = [];
    }

    private sealed class Prediction
    {
        public float[] Score { get; set; } = [];
    }
}
