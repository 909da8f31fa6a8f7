using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Lmu.MLNet.Classification;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Samples.Bench;
using Lmu.MLNet.Training;
using Microsoft.ML;

namespace Lmu.MLNet.Samples.PsMnist;

/// <summary>Trains the LMU classifier on permuted sequential MNIST through ML.NET and reports the protocol's numbers.</summary>
internal static class PsMnistExperiment
{
    public sealed record Settings(
        int Epochs, int Order, double Theta, HiddenCell Cell, int Units, IReadOnlyList<int> Head, int BatchSize, double LearningRate,
        double HeadDropout, double InputDropout, double WeightDecay, int Threads, int TrainRows, int ValidationRows, int TestRows, int Seed, string Output, string? DataDir, Dynamics Learn,
        FirstLayer? Below = null, int MemoryD = 1);

    /// <summary>
    /// A layer under the main one (a stack): a memory of <paramref name="Order"/> over the same theta with a Dense(ReLU)
    /// cell of <paramref name="Units"/> at every step, whose output sequence the main layer memorises instead of the pixels.
    /// </summary>
    public sealed record FirstLayer(int Order, int Units);

    /// <summary>Which parts of the Legendre system training may move (all false: the fixed system).</summary>
    public sealed record Dynamics(bool Theta, bool A, bool B);

    public static int Run(Settings s, string commandLine)
    {
        var mnist = s.DataDir ?? SharedFolder.Find(Path.Combine("data", "mnist"));
        if (mnist is null || !Directory.Exists(mnist))
        {
            Console.Error.WriteLine("MNIST not found: looked for shared/data/mnist above the working directory (or pass --data).");
            return 2;
        }

        Console.WriteLine($"command: {commandLine}");
        Console.WriteLine($"config: {JsonSerializer.Serialize(s)}");
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}");
        var total = Stopwatch.StartNew();
        var (trainRows, validRows, testRows) = PsMnistData.Load(mnist, s.TrainRows, s.ValidationRows, s.TestRows);
        Console.WriteLine($"data: {trainRows.Count} train, {validRows.Count} validation, {testRows.Count} test rows from {mnist} ({total.Elapsed.TotalSeconds:F1} s)");

        var ml = new MLContext(s.Seed);
        ml.Log += (_, e) =>
        {
            if (e.Kind is Microsoft.ML.Runtime.ChannelMessageKind.Info or Microsoft.ML.Runtime.ChannelMessageKind.Warning
                && e.Source.StartsWith("LmuClassifier", StringComparison.Ordinal))
            {
                Console.WriteLine($"[{e.Source}] {e.RawMessage}");
            }
        };
        var digits = ml.Data.LoadFromEnumerable(PsMnistData.Digits.Select(d => new DigitRow { Label = d }));
        var labels = ml.Transforms.Conversion.MapValueToKey("Label", keyData: digits).Fit(ml.Data.LoadFromEnumerable(validRows));
        var train = labels.Transform(ml.Data.LoadFromEnumerable(trainRows));
        var validation = labels.Transform(ml.Data.LoadFromEnumerable(validRows));
        var test = labels.Transform(ml.Data.LoadFromEnumerable(testRows));
        var options = new LmuClassifierOptions
        {
            SequenceLength = PsMnistData.Steps,
            Channels = 1,
            Layers = Layers(s),
            ThetaFromSequenceLength = false,
            HeadHiddenSizes = s.Head,
            HeadDropout = s.HeadDropout,
            Training = new LmuTrainingOptions
            {
                Epochs = s.Epochs,
                BatchSize = s.BatchSize,
                LearningRate = s.LearningRate,
                WeightDecay = s.WeightDecay,
                Seed = s.Seed,
            },
            ValidationData = validation,
            TorchThreads = s.Threads,
        };

        using var model = ml.MulticlassClassification.Trainers.Lmu(options).Fit(train);
        var testMetrics = ml.MulticlassClassification.Evaluate(model.Transform(test));
        var best = model.Info.History[model.Info.BestEpoch - 1];
        Directory.CreateDirectory(s.Output);
        var zip = Path.Combine(s.Output, "psmnist.zip");
        ml.Model.Save(model, train.Schema, zip);
        model.ExportOnnx(Path.Combine(s.Output, "psmnist.onnx"));
        var summary = new
        {
            command = commandLine,
            settings = s,
            parameters = model.Info.ParameterCount,
            thetas = model.Info.LayerThetas,
            validation_accuracy = best.ValidationAccuracy,
            test_accuracy = testMetrics.MicroAccuracy,
            test_log_loss = testMetrics.LogLoss,
            epochs_trained = model.Info.History.Count,
            fit_seconds = model.Info.FitTime.TotalSeconds,
            total_seconds = total.Elapsed.TotalSeconds,
            model = zip,
        };
        var curves = Plots.SamplePlots.TrainingCurves(model.Info.History, Path.Combine(s.Output, "training.png"), "psMNIST");
        var confusion = Plots.SamplePlots.ConfusionMatrix(
            Plots.SamplePlots.Counts(testMetrics.ConfusionMatrix), PsMnistData.Digits, Path.Combine(s.Output, "confusion.png"), "psMNIST: test confusion matrix");
        File.WriteAllText(Path.Combine(s.Output, "psmnist_summary.json"), JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine();
        Console.WriteLine($"parameters: {model.Info.ParameterCount:N0}; theta after training: {string.Join(", ", model.Info.LayerThetas.Select(t => t.ToString("0.###", CultureInfo.InvariantCulture)))}");
        Console.WriteLine($"validation accuracy (epoch {best.Epoch}): {best.ValidationAccuracy?.ToString("P2", CultureInfo.InvariantCulture)}");
        Console.WriteLine($"test accuracy: {testMetrics.MicroAccuracy.ToString("P2", CultureInfo.InvariantCulture)} (log-loss {testMetrics.LogLoss:F4})");
        Console.WriteLine($"training wall time (Fit): {model.Info.FitTime.TotalSeconds:F1} s; total {total.Elapsed.TotalSeconds:F1} s; torch threads {s.Threads}");
        Console.WriteLine($"saved: {zip}, {Path.Combine(s.Output, "psmnist.onnx")}, psmnist_summary.json");
        Console.WriteLine($"figures: {curves}, {confusion}");
        return 0;
    }

    /// <summary>The main layer (reading the pixels, or the first layer's units when <see cref="Settings.Below"/> is set).</summary>
    private static IReadOnlyList<LmuLayerOptions> Layers(Settings s)
    {
        var main = new LmuLayerOptions
        {
            Order = s.Order, Theta = s.Theta, HiddenCell = s.Cell, HiddenUnits = Math.Max(1, s.Units), MemoryD = s.MemoryD,
            Dropout = s.Below is null ? s.InputDropout : 0,
            TrainableTheta = s.Learn.Theta, TrainableA = s.Learn.A, TrainableB = s.Learn.B,
        };
        if (s.Below is null) return [main];
        var first = new LmuLayerOptions
        {
            Order = s.Below.Order, Theta = s.Theta, HiddenCell = HiddenCell.Dense, HiddenUnits = s.Below.Units,
            HiddenActivation = LmuActivation.Relu, Dropout = s.InputDropout,
            TrainableTheta = s.Learn.Theta, TrainableA = s.Learn.A, TrainableB = s.Learn.B,
        };
        main.InputSize = first.OutputSize;
        return [first, main];
    }

    private sealed class DigitRow
    {
        public string Label { get; set; } = string.Empty;
    }
}
