using Lmu.MLNet.Classification;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Training;
using Microsoft.ML;

namespace Lmu.MLNet.Samples.Ucr;

/// <summary>
/// The `ucr` command's default network as an ML.NET pipeline: labels to keys; with <c>both</c> (univariate
/// equal-length sets) each step's raw value and its standardised value as two channels (NormalizeMeanVariance into a
/// column of its own, Concatenate, read channel-major); then the LMU classifier training exactly the given network.
/// </summary>
internal static class UcrDefaultPipeline
{
    /// <summary>The features column the classifier reads with <c>both</c>: [raw 0..T-1, standardised 0..T-1].</summary>
    public const string BothColumn = "RawAndStandardized";

    /// <summary>
    /// Classifier options that train <paramref name="network"/> as it is: its layers (a one-layer network's options
    /// hold that layer in Layer, with Layers empty), readout and head; theta as given, not from the sequence length.
    /// </summary>
    public static LmuClassifierOptions Options(LmuNetworkOptions network, int steps, int channels, bool both, int epochs, int seed, int threads) => new()
    {
        FeatureColumnName = both ? BothColumn : "Features",
        SequenceLength = steps,
        Channels = channels,
        InputLayout = both ? LmuInputLayout.ChannelMajor : LmuInputLayout.StepMajor,
        Layers = network.Layers.Count > 0 ? network.Layers.Select(l => l.Clone()).ToArray() : [network.Layer.Clone()],
        Readout = network.Readout,
        HeadHiddenSizes = network.HeadHiddenSizes.ToArray(),
        HeadActivation = network.HeadActivation,
        HeadDropout = network.HeadDropout,
        ThetaFromSequenceLength = false,
        Training = new LmuTrainingOptions { Epochs = epochs, BatchSize = 16, LearningRate = 3e-3, Seed = seed },
        TorchThreads = threads,
    };

    /// <summary>The pipeline from a "Label" text column and a "Features" column of T values (C x T with channels).</summary>
    public static IEstimator<ITransformer> Create(MLContext ml, LmuClassifierOptions options, bool both)
    {
        IEstimator<ITransformer> pipeline = ml.Transforms.Conversion.MapValueToKey("Label");
        if (both)
        {
            pipeline = pipeline
                .Append(ml.Transforms.NormalizeMeanVariance("Standardized", "Features", fixZero: false))
                .Append(ml.Transforms.Concatenate(BothColumn, "Features", "Standardized"));
        }

        return pipeline.Append(ml.MulticlassClassification.Trainers.Lmu(options));
    }
}
