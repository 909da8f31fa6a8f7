using System.Diagnostics;
using System.Globalization;
using Lmu.MLNet.Samples.Plots;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;

namespace Lmu.MLNet.Samples.Cli;

/// <summary>
/// <c>lmu classify</c> end to end: read and check the files (every check before any training), train the chosen model,
/// evaluate it on the test file or by stratified k-fold cross-validation (then refit on every row), print ML.NET's
/// multiclass metrics and a confusion table, and write the model zip, its ONNX stages and the figures, all or nothing.
/// </summary>
internal static class ClassifyRunner
{
    /// <summary>
    /// Training rows above which <c>classify</c> notes the pooled model's cost: the LMU experiment's default
    /// <c>MaxTrainingRows</c>, where it leaves the pooled family out for the same reason.
    /// </summary>
    internal const int PooledRowsNote = 3000;

    /// <summary>Row values (rows x steps x channels) above which <c>classify</c> notes the pooled model's time per fold.</summary>
    internal const long PooledStepsNote = 500_000;

    /// <summary>Folds when neither --test nor --folds is given.</summary>
    public const int DefaultFolds = 5;

    public sealed record Settings(
        string Train, string? Test, int Folds, ClassificationFile.Layout Layout, ClassifierTrainer.Settings Model, int Threads, string Output);

    public static int Run(Settings s)
    {
        var total = Stopwatch.StartNew();
        if (s.Test is not null && s.Folds > 0)
        {
            throw new ArgumentException("--test and --folds exclude each other: evaluate on a test file or by cross-validation on the training file.");
        }

        var folds = s.Test is null ? (s.Folds > 0 ? s.Folds : DefaultFolds) : 0;
        if (s.Test is null && folds < 2)
        {
            throw new ArgumentException($"--folds {s.Folds} must be at least 2.");
        }

        var train = InputFileMemory.Read(s.Train, "classify", 6, () => ClassificationFile.Read(s.Train, s.Layout));
        ClassificationChecks.Training(train, folds);
        var test = s.Test is null ? null : InputFileMemory.Read(s.Test, "classify", 6, () => ClassificationFile.Read(s.Test, s.Layout));
        if (test is not null)
        {
            ClassificationChecks.Test(test, train);
        }

        var data = train.Data;
        var steps = Math.Max(data.MaxLength, test?.Data.MaxLength ?? 0);
        var rightAlign = ClassifierTrainer.RightAligned(s.Model.Kind);
        using var output = new StagedOutput(s.Output);
        // The MLContext's temp files (carried ONNX graphs) in a folder of this run, removed however the run ends.
        using var temp = new RunTempFolder();
        Func<string, bool> writes = name => name == "model.zip" || name.EndsWith(".onnx", StringComparison.Ordinal) || name.EndsWith(".png", StringComparison.Ordinal);
        output.Protect(s.Train, "--train", writes);
        if (s.Test is not null)
        {
            output.Protect(s.Test, "--test", writes);
        }
        torch.set_num_threads(s.Threads);
        Console.WriteLine($"train: '{s.Train}': {data.Rows.Count} rows, {data.ClassLabels.Count} classes ({Counts(data)}), " +
                          $"{(data.EqualLength ? $"{data.MaxLength}" : $"{data.Rows.Min(r => r.Length)}-{data.MaxLength}")} steps x {data.Channels} channel(s)");
        if (s.Model.Kind == ClassifierKind.Pooled && data.Rows.Count > PooledRowsNote)
        {
            // QA: 20,000 rows ran for an hour with no word of why; the ridge's cost was in the README only. The plan
            // is the ridge's (RidgeClassifierTrainer.PlannedBytes) for the pooled defaults' 10,000 features.
            const int Features = 10_000;
            var n = data.Rows.Count;
            var side = (double)Math.Min(n, Features);
            var gb = ((n * ((Features * 8.0) + 48)) + (2 * side * side * 8)) / 1e9;
            Console.WriteLine($"note: {n} training rows: the pooled model's ridge plans about {gb:F1} GB (every row's {Features:N0} features in float64 " +
                              $"and two {side:N0} x {side:N0} matrices) for each fit, and its time grows with the cube of min(rows, {Features:N0}); " +
                              "--model lmu streams batches instead");
        }

        if (s.Model.Kind == ClassifierKind.Pooled && (long)data.Rows.Count * data.MaxLength * data.Channels > PooledStepsNote)
        {
            // QA: 96 rows of 10,000 steps took 82-132 s a fold on a busy 2-core machine, with nothing printed inside a fold.
            Console.WriteLine($"note: {data.Rows.Count:N0} rows of {data.MaxLength:N0} steps x {data.Channels} channel(s): the pooled model runs each row's steps " +
                              "through its memories for every fit (QA measured 82-132 s a fold for 96 rows of 10,000 steps on a busy 2-core machine), " +
                              "and nothing is printed inside a fold; --model lmu reports each epoch");
        }

        if (test is not null)
        {
            Console.WriteLine($"test:  '{s.Test}': {test.Data.Rows.Count} rows");
            if (test.Data.MaxLength > data.MaxLength)
            {
                // The model's input is sized to the longest row of either file; unsaid, the saved model then refused
                // rows of the training length (found by QA).
                Console.WriteLine($"note: test rows run to {test.Data.MaxLength} steps, past the training rows' {data.MaxLength}: the model reads {steps} steps (shorter rows padded), " +
                                  $"so the saved model takes rows of {steps} x {data.Channels} values");
            }
        }

        var ml = new MLContext(seed: s.Model.Seed) { TempFilePath = temp.Folder };
        LibraryWarnings.Show(ml);
        var confusion = new ConfusionTable(data.ClassLabels);
        var trainView = data.ToDataView(ml, steps, rightAlign);
        FittedClassifier model;
        if (test is not null)
        {
            Console.WriteLine($"model: {s.Model.Kind.ToString().ToLowerInvariant()}; training on every training row ...");
            var clock = Stopwatch.StartNew();
            model = ClassifierTrainer.Fit(ml, trainView, data, steps, s.Model, quiet: false);
            Console.WriteLine($"trained in {clock.Elapsed.TotalSeconds:F1} s: {model.Description}");
            var testView = test.Data.ToDataView(ml, steps, rightAlign);
            var metrics = Evaluate(ml, model, testView, test.Data, confusion);
            Console.WriteLine();
            Console.WriteLine($"test metrics (ML.NET, {test.Data.Rows.Count} rows):");
            Print(metrics);
        }
        else
        {
            CrossValidate(ml, data, steps, rightAlign, folds, s.Model, confusion);
            Console.WriteLine($"refitting on all {data.Rows.Count} rows ...");
            var clock = Stopwatch.StartNew();
            model = ClassifierTrainer.Fit(ml, trainView, data, steps, s.Model, quiet: false);
            Console.WriteLine($"trained in {clock.Elapsed.TotalSeconds:F1} s: {model.Description}");
        }

        using (model)
        {
            Console.WriteLine();
            Console.WriteLine(test is null ? $"confusion table ({folds} folds, each row tested once):" : "confusion table (test file):");
            Console.Write(confusion);
            Write(ml, model, trainView, confusion, train, output);
        }

        var written = output.Commit();
        Console.WriteLine();
        foreach (var file in written)
        {
            Console.WriteLine($"wrote {file}");
        }

        // What predict reads from each line of new rows: nothing said it before, and a line of the features alone was
        // refused for its missing length (found by QA).
        var length = s.Model.Kind == ClassifierKind.Pooled ? $", then the row's length (its valid steps, 1 to {steps})" : string.Empty;
        var zip = Path.Combine(s.Output, "model.zip");
        Console.WriteLine($"score new rows: {CommandName.Of("predict")} --model {ShellWord(zip)} --input rows.csv --output scores.csv " +
                          $"(each line: {steps} x {data.Channels} values, step-major, a shorter row padded {(rightAlign ? "with zeros before its first step" : "after its last step")}{length})");
        Console.WriteLine($"done in {total.Elapsed.TotalSeconds:F1} s");
        return 0;
    }

    /// <summary>
    /// The path as one shell word: as it is when it holds only characters no shell treats specially, else in single
    /// quotes (found by QA: a folder named <c>o$HOME(1)</c> was printed bare, and the hint did not paste).
    /// </summary>
    internal static string ShellWord(string path) =>
        path.All(c => char.IsAsciiLetterOrDigit(c) || "/._-+,:@%=".Contains(c)) ? path : $"'{path.Replace("'", "'\\''", StringComparison.Ordinal)}'";

    private static void CrossValidate(MLContext ml, TimeSeriesDataset data, int steps, bool rightAlign, int folds, ClassifierTrainer.Settings settings, ConfusionTable confusion)
    {
        Console.WriteLine($"model: {settings.Kind.ToString().ToLowerInvariant()}; {folds}-fold stratified cross-validation");
        var fold = StratifiedFolds.Assign(data, folds, settings.Seed);
        var accuracies = new List<double>();
        var macros = new List<double>();
        for (var k = 0; k < folds; k++)
        {
            var clock = Stopwatch.StartNew();
            var trainPart = Subset(data, fold, f => f != k);
            var testPart = Subset(data, fold, f => f == k);
            using var model = ClassifierTrainer.Fit(ml, trainPart.ToDataView(ml, steps, rightAlign), trainPart, steps, settings, quiet: true);
            var metrics = Evaluate(ml, model, testPart.ToDataView(ml, steps, rightAlign), testPart, confusion);
            accuracies.Add(metrics.MicroAccuracy);
            macros.Add(metrics.MacroAccuracy);
            Console.WriteLine($"  fold {k + 1}/{folds}: {trainPart.Rows.Count} train / {testPart.Rows.Count} test rows, micro accuracy {metrics.MicroAccuracy:F4}, " +
                              $"macro accuracy {metrics.MacroAccuracy:F4}, log-loss {metrics.LogLoss:F4} ({clock.Elapsed.TotalSeconds:F1} s)");
        }

        Console.WriteLine();
        Console.WriteLine($"cross-validation metrics (ML.NET, mean +- std over {folds} folds):");
        Console.WriteLine($"  micro accuracy {accuracies.Average():F4} +- {Std(accuracies):F4}");
        Console.WriteLine($"  macro accuracy {macros.Average():F4} +- {Std(macros):F4}");
        Console.WriteLine($"  pooled accuracy {confusion.Correct / (double)confusion.Total:F4} ({confusion.Correct} of {confusion.Total} rows)");
    }

    private static TimeSeriesDataset Subset(TimeSeriesDataset data, int[] fold, Func<int, bool> keep) =>
        new(data.Name, data.Channels, data.ClassLabels, data.Rows.Where((_, i) => keep(fold[i])).ToList());

    private static MulticlassClassificationMetrics Evaluate(MLContext ml, FittedClassifier model, IDataView view, TimeSeriesDataset data, ConfusionTable confusion)
    {
        var scored = model.Model.Transform(view);
        confusion.Add(data.Rows.Select(r => r.Label).ToArray(), model.PredictedClass(view));
        return ml.MulticlassClassification.Evaluate(scored);
    }

    private static void Print(MulticlassClassificationMetrics m)
    {
        Console.WriteLine($"  micro accuracy     {m.MicroAccuracy:F4}");
        Console.WriteLine($"  macro accuracy     {m.MacroAccuracy:F4}");
        Console.WriteLine($"  log-loss           {m.LogLoss:F4}");
        Console.WriteLine($"  log-loss reduction {m.LogLossReduction:F4}");
    }

    private static void Write(MLContext ml, FittedClassifier model, IDataView trainView, ConfusionTable confusion, ClassificationFile.Loaded train, StagedOutput output)
    {
        ml.Model.Save(model.Model, trainView.Schema, output.File("model.zip"));
        foreach (var (file, stage) in model.Onnx)
        {
            stage.ExportOnnx(output.File(file));
        }

        if (model.Onnx.Count == 0)
        {
            Console.WriteLine("(no standalone .onnx: this model is ML.NET's own chain; --model pooled or lmu writes one)");
        }

        var name = Path.GetFileName(train.Path);
        SamplePlots.ConfusionMatrix(confusion.Counts, confusion.Classes, output.File("confusion.png"), $"{name}: confusion matrix");
        if (model.History is { Count: > 0 } history)
        {
            SamplePlots.TrainingCurves(history, output.File("training.png"), name);
        }
    }

    private static string Counts(TimeSeriesDataset data)
    {
        var shown = data.ClassLabels.Take(8).Select(c => $"{c}: {data.Rows.Count(r => r.Label == c)}");
        return string.Join(", ", shown) + (data.ClassLabels.Count > 8 ? ", ..." : string.Empty);
    }

    private static double Std(List<double> values)
    {
        var mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Count);
    }
}
