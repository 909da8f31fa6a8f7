using System.Diagnostics;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Samples.Terminal;
using Lmu.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Samples.Cli;

/// <summary>Trains the model <c>--model</c> chose on a training view (<c>Label</c> text, <c>Features</c>, <c>Length</c>).</summary>
internal static class ClassifierTrainer
{
    /// <summary>What the command line sets.</summary>
    /// <param name="Kind">The model.</param>
    /// <param name="Epochs">Network epochs (0: the configuration's own, 300).</param>
    /// <param name="BudgetSeconds">The experiment's time budget.</param>
    /// <param name="Seed">Seed of every random choice.</param>
    public sealed record Settings(ClassifierKind Kind, int Epochs, double BudgetSeconds, int Seed);

    /// <summary>Training rows from which the pooled model prints the ridge's progress (its solve grows with the cube of the rows).</summary>
    public const int RidgeProgressRows = 1000;

    /// <summary>Whether the model reads rows right-aligned (zeros first, no length input): the networks and the experiment.</summary>
    public static bool RightAligned(ClassifierKind kind) => kind != ClassifierKind.Pooled;

    /// <summary>Fits the model; <paramref name="quiet"/> (cross-validation folds) prints no per-epoch progress.</summary>
    public static FittedClassifier Fit(MLContext ml, IDataView train, TimeSeriesDataset data, int steps, Settings s, bool quiet) => s.Kind switch
    {
        ClassifierKind.Pooled => Pooled(ml, train, data, steps, s),
        ClassifierKind.Lmu => Network(ml, train, data, steps, s, quiet),
        ClassifierKind.Experiment => Experiment(ml, train, data, steps, s, quiet),
        _ => throw new ArgumentException($"--model {s.Kind} is not a known model."),
    };

    /// <summary>
    /// The README's best fixed configuration (UCR table, "Pooled+Ridge"): LmuPooledFeaturize at its defaults (50
    /// memories, 100 projections each, order 9: 10,000 features; rows z-scored when univariate, raw when multivariate)
    /// and the ridge with its leave-one-out penalty. Variable-length rows are read through the Length column.
    /// </summary>
    private static FittedClassifier Pooled(MLContext ml, IDataView train, TimeSeriesDataset data, int steps, Settings s)
    {
        var options = new LmuPooledFeaturizerOptions
        {
            InputColumnName = "Features", OutputColumnName = "Pooled", LengthColumnName = "Length", SequenceLength = steps,
            Channels = data.Channels,
            // As in the UCR table: univariate rows are compared in shape, multivariate channels keep their magnitudes.
            Normalization = data.Channels == 1 ? LmuFeatureNormalization.ZScorePerRow : LmuFeatureNormalization.None,
            Seed = s.Seed,
        };
        var pipeline = Keys(ml, data)
            .Append(ml.Transforms.LmuPooledFeaturize(options))
            .Append(ml.MulticlassClassification.Trainers.Ridge("Label", "Pooled"))
            // The 10,000 pooled features are an intermediate column: kept, serve answered every request with them (74 KB; found by QA).
            .Append(ml.Transforms.DropColumns("Pooled"));
        // The ridge's plan and each penalty's error as it is scored: on thousands of rows the solve takes minutes, and the
        // run said nothing meanwhile (QA: 5,000 rows, about 6 minutes of silence).
        EventHandler<LoggingEventArgs> progress = (_, e) =>
        {
            if (e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Info && e.Source.StartsWith("RidgeClassifier", StringComparison.Ordinal))
            {
                Console.WriteLine($"  ridge: {e.RawMessage}");
            }
        };
        var loud = data.Rows.Count >= RidgeProgressRows;
        if (loud)
        {
            ml.Log += progress;
        }

        TransformerChain<Microsoft.ML.Transforms.ColumnSelectingTransformer> model;
        try
        {
            model = pipeline.Fit(train);
        }
        finally
        {
            if (loud)
            {
                ml.Log -= progress;
            }
        }

        var featurizer = model.OfType<LmuPooledFeaturizerTransformer>().Single();
        var ridge = model.OfType<RidgeClassifierTransformer>().Single();
        var description = $"LmuPooledFeaturize ({options.Windows} memories x {options.ProjectionsPerWindow} projections, order {options.Order}, " +
                          $"{options.Normalization}) + Ridge (alpha {ridge.Alpha:G3} by leave-one-out)";
        return new FittedClassifier(model, description, v => KeyedClasses(ml, model.Transform(v)), [("featurizer.onnx", featurizer), ("ridge.onnx", ridge)], null);
    }

    /// <summary>
    /// One LMU layer on the raw steps, read at the last step (order 32, theta = T, memory_d min(C, 4), SimpleRnn 64, lr
    /// 3e-3, dropout 0.1, batch 16, 300 epochs): the ucr command's first default, not the UCR table's current columns.
    /// </summary>
    private static FittedClassifier Network(MLContext ml, IDataView train, TimeSeriesDataset data, int steps, Settings s, bool quiet)
    {
        var options = new LmuClassifierOptions
        {
            SequenceLength = steps,
            Channels = data.Channels,
            Layer = new LmuLayerOptions { Order = 32, Theta = steps, MemoryD = Math.Min(data.Channels, 4), HiddenCell = HiddenCell.SimpleRnn, HiddenUnits = 64, Dropout = 0.1 },
            Training = new LmuTrainingOptions { Epochs = s.Epochs > 0 ? s.Epochs : 300, BatchSize = 16, LearningRate = 3e-3, Seed = s.Seed },
        };
        var keys = Keys(ml, data).Fit(train);
        var keyed = keys.Transform(train);
        var classifier = quiet
            ? new LmuClassifierEstimator(ml, options).Fit(keyed)
            : TrainingProgressBar.Run("training", options.Training.Epochs, progress =>
            {
                options.Progress = progress;
                return new LmuClassifierEstimator(ml, options).Fit(keyed);
            });
        var model = keys.Append(classifier);
        var description = $"LMU classifier (order 32, theta {steps}, SimpleRnn 64, {classifier.Info.ParameterCount:N0} parameters, {classifier.Info.History.Count} epochs)";
        return new FittedClassifier(model, description, v => KeyedClasses(ml, model.Transform(v)), [("classifier.onnx", classifier)], classifier.Info.History);
    }

    /// <summary>The AutoML-style experiment (both families) within the budget; 3-fold cross-validation below 100 rows, else a 20 % hold-out, as the UCR table ran it.</summary>
    private static FittedClassifier Experiment(MLContext ml, IDataView train, TimeSeriesDataset data, int steps, Settings s, bool quiet)
    {
        var settings = new LmuExperimentSettings
        {
            Seed = s.Seed, MaxExperimentTimeInSeconds = s.BudgetSeconds, BatchSize = 16,
            CrossValidationFolds = data.Rows.Count < 100 ? 3 : 0,
            Progress = quiet ? null : new TrialPrinter(),
        };
        if (!quiet)
        {
            Console.WriteLine($"experiment: budget {s.BudgetSeconds} s, {(settings.CrossValidationFolds > 1 ? "3-fold cross-validation" : "20 % stratified hold-out")}");
        }

        var result = new LmuClassificationExperiment(ml, settings).Execute(train, channels: data.Channels);
        var stages = result.Model is IEnumerable<ITransformer> chain
            ? chain.OfType<OnnxCarriedTransformer>().Select((t, i) => ($"stage{i + 1}-{Stage(t)}.onnx", t)).ToList()
            : [];
        var description = $"LMU experiment: best trial {result.BestTrial.TrialId} of {result.Trials.Count} ({result.BestTrial.Family}: {result.BestTrial.Configuration}, validation {result.BestTrial.Metric:F4})";
        return new FittedClassifier(result.Model, description, v => Texts(result.Model.Transform(v), "PredictedLabel"), stages, null);
    }

    /// <summary>Text labels to keys in the dataset's class order, so Score slots and the confusion table read in that order.</summary>
    private static IEstimator<ITransformer> Keys(MLContext ml, TimeSeriesDataset data) =>
        ml.Transforms.Conversion.MapValueToKey("Label", keyData: ml.Data.LoadFromEnumerable(data.ClassLabels.Select(c => new ClassName { Label = c })));

    private static string[] KeyedClasses(MLContext ml, IDataView scored)
    {
        var mapped = ml.Transforms.Conversion.MapKeyToValue("PredictedClass", "PredictedLabel").Fit(scored).Transform(scored);
        return Texts(mapped, "PredictedClass");
    }

    private static string[] Texts(IDataView view, string column) =>
        view.GetColumn<ReadOnlyMemory<char>>(column).Select(t => t.ToString()).ToArray();

    private static string Stage(OnnxCarriedTransformer t) => t switch
    {
        LmuPooledFeaturizerTransformer => "featurizer",
        RidgeClassifierTransformer => "ridge",
        LmuClassifierTransformer => "classifier",
        _ => t.GetType().Name,
    };

    private sealed class ClassName
    {
        public string Label { get; set; } = string.Empty;
    }

    /// <summary>Each trial on one line as it ends (the experiment reports synchronously, in order).</summary>
    private sealed class TrialPrinter : IProgress<LmuTrialResult>
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();

        public void Report(LmuTrialResult t) => Console.WriteLine(
            $"  trial {t.TrialId,4} {t.Family,-11} rung {t.Rung} {t.Status,-9} {(t.Metric is double m ? m.ToString("F4") : "-"),6}  at {_clock.Elapsed.TotalSeconds,5:F0} s  {t.Configuration}" +
            // QA: every pooled trial "Failed" under a heap limit, and nothing said why.
            (t.Status == LmuTrialStatus.Failed && t.Error is { } error ? $"{Environment.NewLine}         failed: {error}" : string.Empty));
    }
}
