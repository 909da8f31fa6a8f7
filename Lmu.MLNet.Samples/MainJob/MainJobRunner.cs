using System.Diagnostics;
using System.Globalization;
using Lmu.MLNet.Classification;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Samples.Plots;
using Lmu.MLNet.Samples.Terminal;
using Lmu.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using Spectre.Console;
using TorchSharp;

namespace Lmu.MLNet.Samples.MainJob;

/// <summary>
/// The main job, end to end: load a real dataset, train an LMU classifier with a live progress bar, evaluate with
/// ML.NET's metrics, save the .zip, reload it (no TorchSharp involved), predict a few rows and print a summary; PNG
/// curves and a confusion matrix are written next to the model.
/// </summary>
internal static class MainJobRunner
{
    /// <summary>What the command line can change.</summary>
    /// <param name="Dataset">"auto", "digits" or a UCR set name.</param>
    /// <param name="Epochs">Epochs; 0 takes the dataset's default.</param>
    /// <param name="Threads">Torch intra-op threads.</param>
    /// <param name="Seed">Seed of the MLContext and the classifier.</param>
    /// <param name="Output">Folder for the model and the figures.</param>
    public sealed record Settings(string Dataset, int Epochs, int Threads, int Seed, string Output);

    public static int Run(Settings s)
    {
        var total = Stopwatch.StartNew();
        if (!TrainingProgressBar.Live)
        {
            // Spectre assumes 80 columns when the output is not a terminal; logs read better unwrapped.
            AnsiConsole.Profile.Width = 160;
        }

        MainJobData data;
        try
        {
            data = MainJobData.Resolve(s.Dataset);
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }

        // Before training: an --output that is a file failed only after the whole Fit (found by QA).
        if (File.Exists(s.Output))
        {
            Console.Error.WriteLine($"error: --output '{s.Output}' is a file; give a folder for model.zip, training.png and confusion.png");
            return 2;
        }

        torch.set_num_threads(s.Threads);
        var steps = Math.Max(data.Train.MaxLength, data.Test.MaxLength);
        var channels = data.Train.Channels;
        AnsiConsole.MarkupLine($"[bold]Lmu.MLNet main job[/]: {Markup.Escape(data.Name)}");
        AnsiConsole.MarkupLine($"  from {Markup.Escape(data.Source)}");
        AnsiConsole.MarkupLine($"  {data.Train.Rows.Count} train / {data.Test.Rows.Count} test rows, {steps} steps x {channels} channel(s), {data.Train.ClassLabels.Count} classes; torch threads {s.Threads}");

        var ml = new MLContext(seed: s.Seed);
        var trainView = data.Train.ToDataView(ml, steps, rightAlign: true);
        var testView = data.Test.ToDataView(ml, steps, rightAlign: true);
        // Keys in the dataset's class order, so Score slots and the confusion matrix read in that order.
        var keyData = ml.Data.LoadFromEnumerable(data.Train.ClassLabels.Select(c => new ClassName { Label = c }));
        var labelMap = ml.Transforms.Conversion.MapValueToKey("Label", keyData: keyData).Fit(trainView);
        var options = Recipe(data, steps, channels, s);
        // The test split is watched after each epoch for the curves only: no early stopping, the last epoch's weights
        // are kept, so nothing is selected on it.
        options.ValidationData = labelMap.Transform(testView);

        var fitClock = Stopwatch.StartNew();
        var classifier = TrainingProgressBar.Run("training", options.Training.Epochs, progress =>
        {
            options.Progress = progress;
            return new LmuClassifierEstimator(ml, options).Fit(labelMap.Transform(trainView));
        });
        var fitTime = fitClock.Elapsed;
        var model = labelMap.Append(classifier);

        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(testView));
        Directory.CreateDirectory(s.Output);
        var zip = Path.GetFullPath(Path.Combine(s.Output, "model.zip"));
        Cli.PartialOutputFile.WriteFile(zip, p => ml.Model.Save(model, trainView.Schema, p));

        // Reload in a fresh context, as a service would: ML.NET's TransformerChain over the ONNX graph, no torch.
        var reloadMl = new MLContext(seed: s.Seed);
        var reloaded = LmuModelFile.Load(reloadMl, zip, out var inputSchema);
        var rows = FewRows(data.Test, steps, 8);
        var definition = SchemaDefinition.Create(typeof(SeriesInput));
        definition[nameof(SeriesInput.Features)].ColumnType = inputSchema["Features"].Type;
        // The engine borrows the model (disposed once, below, by its owner here) rather than owning it.
        List<ClassPrediction> fresh;
        using (var engine = reloadMl.Model.CreatePredictionEngine<SeriesInput, ClassPrediction>(reloaded, new PredictionEngineOptions { InputSchemaDefinition = definition, OwnsTransformer = false }))
        {
            fresh = rows.Select(r => engine.Predict(r)).ToList();
        }
        var inMemory = model.Transform(ml.Data.LoadFromEnumerable(rows, definition)).GetColumn<float[]>("Score").ToList();
        var maxDiff = fresh.Zip(inMemory).Max(p => p.First.Score.Zip(p.Second).Max(d => Math.Abs(d.First - d.Second)));

        var curves = SamplePlots.TrainingCurves(classifier.Info.History, Path.Combine(s.Output, "training.png"), data.Train.Name, "test (watched, not selected on)");
        var counts = SamplePlots.Counts(metrics.ConfusionMatrix);
        var confusion = SamplePlots.ConfusionMatrix(counts, data.Train.ClassLabels, Path.Combine(s.Output, "confusion.png"), $"{data.Train.Name}: test confusion matrix");

        PrintPredictions(rows, fresh, data.Train.ClassLabels);
        var summary = new Table().Title("[bold]summary[/]").AddColumn("item").AddColumn("value");
        void Row(string k, string v) => summary.AddRow(Markup.Escape(k), Markup.Escape(v));
        Row("dataset", data.Name);
        Row("model", $"LMU order {options.Layer.Order}, theta {steps}, {options.Layer.HiddenCell} {options.Layer.HiddenUnits}, {classifier.Info.ParameterCount:N0} parameters");
        Row("training", $"{classifier.Info.History.Count} epochs, batch {options.Training.BatchSize}, lr {options.Training.LearningRate}, {fitTime.TotalSeconds:0.0} s");
        Row("test accuracy (micro / macro)", $"{metrics.MicroAccuracy:P2} / {metrics.MacroAccuracy:P2}");
        Row("test log-loss", metrics.LogLoss.ToString("0.0000", CultureInfo.InvariantCulture));
        Row("model file", $"{zip} ({new FileInfo(zip).Length / 1024.0:0.0} KiB)");
        Row("reloaded vs in-memory scores", $"max |diff| {maxDiff:G3} over {rows.Count} rows");
        Row("figures", $"{curves}, {confusion}");
        Row("wall time", $"{total.Elapsed.TotalSeconds:0.0} s");
        AnsiConsole.Write(summary);
        (reloaded as IDisposable)?.Dispose();
        classifier.Dispose();
        return 0;
    }

    /// <summary>Per-dataset settings: a Dense hidden cell over a feed-forward memory (the fast parallel form).</summary>
    private static LmuClassifierOptions Recipe(MainJobData data, int steps, int channels, Settings s)
    {
        var digits = data.Train.Name == "Digits";
        return new LmuClassifierOptions
        {
            SequenceLength = steps,
            Channels = channels,
            // A window over the whole sequence; order 32 resolves single steps of ItalyPowerDemand's 24 (and ~5-step
            // features of 150-step sets such as GunPoint); 8 steps of digits need no more than order 8.
            Layer = new LmuLayerOptions { Order = digits ? 8 : 32, MemoryD = Math.Min(channels, 4), HiddenCell = HiddenCell.Dense, HiddenUnits = 64, Dropout = 0.1 },
            Training = new LmuTrainingOptions
            {
                Epochs = s.Epochs > 0 ? s.Epochs : digits ? 40 : 100,
                BatchSize = digits ? 32 : 16,
                LearningRate = 3e-3,
                Seed = s.Seed,
            },
        };
    }

    private static List<SeriesInput> FewRows(TimeSeriesDataset test, int steps, int count)
    {
        var (values, lengths) = test.Padded(steps, rightAlign: true);
        var width = steps * test.Channels;
        // Spread over the split so that several classes show up.
        var stride = Math.Max(1, test.Rows.Count / count);
        return Enumerable.Range(0, Math.Min(count, test.Rows.Count)).Select(k => k * stride).Select(i => new SeriesInput
        {
            Label = test.Rows[i].Label, Features = values.AsSpan(i * width, width).ToArray(), Length = lengths[i],
        }).ToList();
    }


    private static void PrintPredictions(List<SeriesInput> rows, List<ClassPrediction> predictions, IReadOnlyList<string> classes)
    {
        var table = new Table().Title("[bold]reloaded model, a few test rows[/]").AddColumn("row").AddColumn("true").AddColumn("predicted").AddColumn("probability");
        for (var i = 0; i < rows.Count; i++)
        {
            var p = predictions[i];
            var k = (int)p.PredictedLabel - 1;
            var name = k >= 0 && k < classes.Count ? classes[k] : "?";
            var mark = name == rows[i].Label ? "[green]ok[/]" : "[red]x[/]";
            table.AddRow(i.ToString(CultureInfo.InvariantCulture), Markup.Escape(rows[i].Label), $"{Markup.Escape(name)} {mark}", p.Score.Max().ToString("0.000", CultureInfo.InvariantCulture));
        }

        AnsiConsole.Write(table);
    }

    private sealed class ClassName
    {
        public string Label { get; set; } = string.Empty;
    }

    private sealed class ClassPrediction
    {
        public uint PredictedLabel { get; set; }

        public float[] Score { get; set; } = [];
    }
}
