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
        FirstLayer? Below = null, int MemoryD = 1, int Ensemble = 1);

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
            // The hint differs when --data was given (it told the user to pass the option they had passed; found by QA).
            Console.Error.WriteLine(s.DataDir is not null
                ? $"error: --data '{s.DataDir}' is not a folder (it should hold the MNIST idx files)."
                : "error: MNIST not found: looked for shared/data/mnist above the working directory (or pass --data).");
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
        Cli.PartialOutputFile.WriteFile(zip, p => ml.Model.Save(model, train.Schema, p));
        model.ExportOnnx(Path.Combine(s.Output, "psmnist.onnx"));
        var ensemble = s.Ensemble > 1 ? Ensemble(s, ml, options, train, validation, test, model) : null;
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
            ensemble,
        };
        var curves = Plots.SamplePlots.TrainingCurves(model.Info.History, Path.Combine(s.Output, "training.png"), "psMNIST");
        var confusion = Plots.SamplePlots.ConfusionMatrix(
            Plots.SamplePlots.Counts(testMetrics.ConfusionMatrix), PsMnistData.Digits, Path.Combine(s.Output, "confusion.png"), "psMNIST: test confusion matrix");
        var summaryJson = JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true });
        Cli.PartialOutputFile.WriteFile(Path.Combine(s.Output, "psmnist_summary.json"), path => File.WriteAllText(path, summaryJson));
        Console.WriteLine();
        Console.WriteLine($"parameters: {model.Info.ParameterCount:N0}; theta after training: {string.Join(", ", model.Info.LayerThetas.Select(t => t.ToString("0.###", CultureInfo.InvariantCulture)))}");
        Console.WriteLine($"validation accuracy (epoch {best.Epoch}): {best.ValidationAccuracy?.ToString("P2", CultureInfo.InvariantCulture)}");
        Console.WriteLine($"test accuracy: {testMetrics.MicroAccuracy.ToString("P2", CultureInfo.InvariantCulture)} (log-loss {testMetrics.LogLoss:F4})");
        if (ensemble is not null)
        {
            Console.WriteLine($"ensemble of {s.Ensemble} (seeds {s.Seed}-{s.Seed + s.Ensemble - 1}, mean of the class probabilities): " +
                              $"validation {ensemble.ValidationAccuracy.ToString("P2", CultureInfo.InvariantCulture)}, test {ensemble.TestAccuracy.ToString("P2", CultureInfo.InvariantCulture)}");
        }

        Console.WriteLine($"training wall time (Fit): {model.Info.FitTime.TotalSeconds:F1} s; total {total.Elapsed.TotalSeconds:F1} s; torch threads {s.Threads}");
        Console.WriteLine($"saved: {zip}, {Path.Combine(s.Output, "psmnist.onnx")}, psmnist_summary.json");
        Console.WriteLine($"figures: {curves}, {confusion}");
        return 0;
    }

    /// <summary>Accuracies of the mean of several members' class probabilities, and of each member alone.</summary>
    public sealed record EnsembleResult(double ValidationAccuracy, double TestAccuracy, IReadOnlyList<double> MemberValidation, IReadOnlyList<double> MemberTest, double FitSeconds);

    /// <summary>
    /// Trains members 2..N with seeds Seed+1.. (the first is <paramref name="first"/>) and scores the mean of their
    /// probabilities. Why: the members differ only in initialisation and batch order, so their errors are partly
    /// independent; the ensemble is scored on validation as well as test, so it is chosen the way a single model is.
    /// </summary>
    private static EnsembleResult Ensemble(Settings s, MLContext ml, LmuClassifierOptions options, IDataView train, IDataView validation, IDataView test, LmuClassifierTransformer first)
    {
        var validScores = new List<(float[][] Scores, uint[] Labels)> { Scores(ml, first.Transform(validation)) };
        var testScores = new List<(float[][] Scores, uint[] Labels)> { Scores(ml, first.Transform(test)) };
        double fitSeconds = first.Info.FitTime.TotalSeconds;
        for (int i = 1; i < s.Ensemble; i++)
        {
            Console.WriteLine($"ensemble member {i + 1} of {s.Ensemble} (seed {s.Seed + i})");
            options.Training.Seed = s.Seed + i;
            using var member = ml.MulticlassClassification.Trainers.Lmu(options).Fit(train);
            fitSeconds += member.Info.FitTime.TotalSeconds;
            validScores.Add(Scores(ml, member.Transform(validation)));
            testScores.Add(Scores(ml, member.Transform(test)));
            Console.WriteLine($"member {i + 1}: validation {EnsembleScore.Accuracy([validScores[^1]]):P2}, test {EnsembleScore.Accuracy([testScores[^1]]):P2}");
        }

        return new EnsembleResult(EnsembleScore.Accuracy(validScores), EnsembleScore.Accuracy(testScores),
            validScores.Select(v => EnsembleScore.Accuracy([v])).ToList(), testScores.Select(t => EnsembleScore.Accuracy([t])).ToList(), fitSeconds);
    }

    private static (float[][] Scores, uint[] Labels) Scores(MLContext ml, IDataView scored)
    {
        var rows = ml.Data.CreateEnumerable<ScoredRow>(scored, reuseRowObject: false).ToList();
        return (rows.Select(r => r.Score).ToArray(), rows.Select(r => r.Label).ToArray());
    }

    private sealed class ScoredRow
    {
        public uint Label { get; set; }

        public float[] Score { get; set; } = [];
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
