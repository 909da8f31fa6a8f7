using Lmu.MLNet.Classification;
using Lmu.MLNet.Forecasting;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Samples.Soak;

/// <summary>
/// One fit of each long native path through the public API: the classifier in its parallel and scan forms (the last
/// step, its states kept or recomputed from checkpoints, and a pool over every step of the full-sequence scan), a
/// SimpleRnn over a feed-forward memory (the blocked projection feeding the scan in blocks), the
/// forecaster in the M4 configuration at a small size, the AutoML-style experiment (both families), the two
/// featurizers, and the concurrency workloads (<see cref="SoakConcurrency"/>). Each returns a number computed from the
/// fitted model so a silently wrong fit is visible too.
/// </summary>
internal static class SoakWorkloads
{
    public static readonly string[] Names = ["classifier-parallel", "classifier-scan", "classifier-pooled", "classifier-blocked", "classifier-checkpointed", "classifier-recurrent-blocks", "classifier-dense-fixed", "classifier-lstm", "classifier-gru-cell", "forecaster", "experiment", "featurizers", "scoring-dispose", "shared-engine", "concurrent-fits", "layer-lengths"];

    /// <summary>Runs workload <paramref name="name"/>; <paramref name="scale"/> multiplies rows and epochs (1: the test suite's short soak).</summary>
    public static string Run(string name, int seed, int threads, int scale) => name switch
    {
        "classifier-parallel" => Classifier(seed, threads, scale, recurrent: false),
        "classifier-scan" => Classifier(seed, threads, scale, recurrent: true),
        "classifier-pooled" => Classifier(seed, threads, scale, recurrent: true, LmuReadout.MeanAndMax),
        "classifier-blocked" => Classifier(seed, threads, scale, recurrent: false, hidden: HiddenCell.SimpleRnn),
        // Order 48: a memory large enough that its validation scoring takes the blocked inference (order 12 does not pay).
        "classifier-checkpointed" => Classifier(seed, threads, scale, recurrent: true, scanBudgetMiB: 0, recurrentOrder: 48),
        // Order 48 with every state kept: training itself runs the recurrent cell in blocks (BlockStartSums).
        "classifier-recurrent-blocks" => Classifier(seed, threads, scale, recurrent: true, recurrentOrder: 48),
        // A Dense cell over a fixed memory: the last step as one autograd node (DenseLastFunction).
        "classifier-dense-fixed" => Classifier(seed, threads, scale, recurrent: false, learnTheta: false),
        // An LSTM over a feed-forward memory (the parallel form's per-step cell loop over one unbind of the input
        // projection) and a GRU over a recurrent memory with recurrent dropout (the cell form, the reference formulation).
        "classifier-lstm" => Classifier(seed, threads, scale, recurrent: false, hidden: HiddenCell.Lstm),
        "classifier-gru-cell" => Classifier(seed, threads, scale, recurrent: true, hidden: HiddenCell.Gru),
        "forecaster" => Forecaster(seed, threads, scale),
        "experiment" => Experiment(seed, scale),
        "featurizers" => Featurizers(seed, scale),
        "scoring-dispose" => SoakConcurrency.ScoringDispose(seed, Path.GetTempPath()),
        "shared-engine" => SoakConcurrency.SharedEngine(seed, Path.GetTempPath()),
        "concurrent-fits" => SoakConcurrency.ConcurrentFits(seed, threads),
        "layer-lengths" => SoakConcurrency.LayerLengths(seed),
        _ => throw new ArgumentException($"Unknown workload '{name}'; expected one of {string.Join(", ", Names)}.", nameof(name)),
    };

    private static string Classifier(int seed, int threads, int scale, bool recurrent, LmuReadout readout = LmuReadout.LastStep, HiddenCell hidden = HiddenCell.Dense, int scanBudgetMiB = 1024, int recurrentOrder = 12, bool learnTheta = true)
    {
        var ml = new MLContext(seed);
        var data = ml.Data.LoadFromEnumerable(SoakData.Sequences(300 * scale, seed));
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data);
        var options = new LmuClassifierOptions
        {
            // The scan form: a recurrent memory (hidden-to-memory) with a SimpleRnn cell (the two-stage last-step scan, or
            // with a pool the full-sequence fused scan); the parallel form: a feed-forward memory with a Dense cell.
            // Each is what Auto picks for these layers. The parallel and the pooled workloads learn theta (the
            // closed-form derivative: H and Ad computed outside autograd per pass; the dynamics clipped apart).
            Layer = recurrent
                // The pooled one drops 10 % of its input steps too (DropoutMask on the input, every batch).
                ? hidden == HiddenCell.Gru
                    ? new LmuLayerOptions { Order = recurrentOrder, HiddenCell = HiddenCell.Gru, HiddenUnits = 16, HiddenToMemory = true, RecurrentDropout = 0.1 }
                    : new LmuLayerOptions { Order = recurrentOrder, HiddenCell = HiddenCell.SimpleRnn, HiddenUnits = 16, HiddenToMemory = true, TrainableTheta = readout != LmuReadout.LastStep, Dropout = readout != LmuReadout.LastStep ? 0.1 : 0 }
                : hidden switch
                {
                    // Fixed theta, SimpleRnn over the feed-forward memory: the blocked hidden input and the scan reading it in blocks.
                    HiddenCell.SimpleRnn => new LmuLayerOptions { Order = 32, HiddenCell = HiddenCell.SimpleRnn, HiddenUnits = 32 },
                    HiddenCell.Lstm => new LmuLayerOptions { Order = 32, HiddenCell = HiddenCell.Lstm, HiddenUnits = 16 },
                    _ => new LmuLayerOptions { Order = 32, HiddenCell = HiddenCell.Dense, HiddenUnits = 64, TrainableTheta = learnTheta },
                },
            // Head dropout: every classifier's training step draws managed dropout masks (DropoutMask) under the collections.
            HeadHiddenSizes = [32],
            HeadDropout = 0.2,
            Readout = readout,
            // A budget of 0: the two-stage scan keeps checkpoints and recomputes its states in every backward pass.
            Training = new LmuTrainingOptions { Epochs = 2 * scale, BatchSize = 32, LearningRate = 3e-3, GradientClipNorm = 1, Seed = seed, ScanStateBudgetMiB = scanBudgetMiB },
            // Scored after every epoch by the TorchSharp network without a backward pass: the inference forms (the
            // recurrent cell's blocks of 8 steps among them) under the same collections.
            ValidationData = keyed,
            TorchThreads = threads,
        };
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.Transforms.LmuClassifier(options));
        using var model = pipeline.Fit(data).LastTransformer;
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(keyed));
        return $"train accuracy {metrics.MicroAccuracy:F3}";
    }

    private static string Forecaster(int seed, int threads, int scale)
    {
        var ml = new MLContext(seed);
        var rows = ml.Data.LoadFromEnumerable(SoakData.Series(8 * scale, 24 * 30, seed));
        const int Window = 96, Horizon = 24;
        var options = new LmuForecastingOptions
        {
            SeriesColumnName = nameof(SoakData.SeriesValue.Value), SeriesIdColumnName = nameof(SoakData.SeriesValue.SeriesId),
            WindowSize = Window, Horizon = Horizon, Scaling = LmuForecastScaling.PerWindow, WindowStride = 2,
            Layer = new LmuLayerOptions
            {
                MemoryD = 4, Order = 24, Theta = Window, HiddenCell = HiddenCell.Dense, HiddenUnits = 64,
                HiddenActivation = LmuActivation.Tanh, InputToHidden = true,
            },
            Loss = LmuLoss.MeanAbsoluteError,
            LowerBoundColumnName = "Lower", UpperBoundColumnName = "Upper",
            Training = new LmuTrainingOptions { Epochs = 2 * scale, BatchSize = 64, LearningRate = 2e-3, Seed = seed },
            ValidationFraction = 0.1, TorchThreads = threads,
        };
        using var model = ml.Forecasting.ForecastByLmu(options).Fit(rows);
        return $"{model.Info.ParameterCount} parameters";
    }

    private static string Experiment(int seed, int scale)
    {
        var ml = new MLContext(seed);
        var data = ml.Data.LoadFromEnumerable(SoakData.Sequences(90 * scale, seed));
        var settings = new LmuExperimentSettings
        {
            Seed = seed, MaxConfigurations = 4, MaxExperimentTimeInSeconds = 60 * scale, Rungs = 2, HalvingRate = 2, BatchSize = 16,
            SearchSpace = new LmuSearchSpace
            {
                Order = new(4, 16), MemoryD = new(1, 2), HiddenUnits = new(8, 16), Epochs = new(4, 6),
                PooledRidge = new LmuPooledRidgeSearchSpace { Windows = new(5, 10), ProjectionsPerWindow = new(10, 20) },
            },
        };
        var result = new LmuClassificationExperiment(ml, settings).Execute(data);
        return $"{result.Trials.Count} trials, best {result.BestTrial.Metric:F3}";
    }

    private static string Featurizers(int seed, int scale)
    {
        var ml = new MLContext(seed);
        var data = ml.Data.LoadFromEnumerable(SoakData.Sequences(300 * scale, seed));
        var plain = ml.Transforms.LmuFeaturize("Memory", "Features", order: 16).Fit(data).Transform(data);
        var pooled = ml.Transforms.LmuPooledFeaturize(new LmuPooledFeaturizerOptions { Windows = 10, ProjectionsPerWindow = 20, Seed = seed }).Fit(data).Transform(data);
        double sum = plain.GetColumn<float[]>("Memory").Sum(v => v.Sum()) + pooled.GetColumn<float[]>("LmuPooledFeatures").Sum(v => v.Sum());
        return $"feature sum {sum:G6}";
    }
}
