using Lmu.MLNet.Classification;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Training;

// Catalog extensions live in ML.NET's namespace, as ML.NET's own extension packages do, so that
// mlContext.Transforms.LmuClassifier(...) needs no extra using directive.
namespace Microsoft.ML;

/// <summary>
/// <c>mlContext.Transforms.LmuClassifier(...)</c> and <c>mlContext.MulticlassClassification.Trainers.Lmu(...)</c>: two
/// entries to the same LMU sequence classifier (<see cref="LmuClassifierEstimator"/>).
/// </summary>
/// <remarks>
/// The estimator is bound to the catalog's MLContext: its seed, Log, GpuDeviceId/FallbackToCpu and cancellation govern
/// training. (ML.NET does not expose a catalog's context publicly; see MLContextBridge for how it is reached, and use
/// <c>new LmuClassifierEstimator(mlContext, options)</c> for the same estimator without the catalog.)
/// </remarks>
public static class LmuClassifierCatalog
{
    /// <summary>An LMU sequence classifier with the most used settings; the rest keep their defaults.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="labelColumnName">Label column (a key from MapValueToKey, text or boolean; numbers are refused, see <see cref="LmuClassifierOptions.LabelColumnName"/>). Default "Label".</param>
    /// <param name="featureColumnName">Flattened sequences, Vector&lt;Single&gt; of length x channels. Default "Features".</param>
    /// <param name="sequenceLength">Steps T; 0 infers it from the vector size. Default 0.</param>
    /// <param name="channels">Channels per step. Default 1.</param>
    /// <param name="order">Legendre order of the memory, from 1 to <see cref="LmuLayerOptions.MaxOrder"/>. Default 64.</param>
    /// <param name="hiddenCell">Hidden cell. Default <see cref="HiddenCell.SimpleRnn"/>.</param>
    /// <param name="hiddenUnits">Hidden units. Default 64.</param>
    /// <param name="epochs">Passes over the data. Default 10.</param>
    /// <param name="batchSize">Rows per step. Default 64.</param>
    /// <param name="learningRate">Adam learning rate. Default 1e-3.</param>
    public static LmuClassifierEstimator LmuClassifier(
        this TransformsCatalog catalog, string labelColumnName = "Label", string featureColumnName = "Features", int sequenceLength = 0,
        int channels = 1, int order = 64, HiddenCell hiddenCell = HiddenCell.SimpleRnn, int hiddenUnits = 64, int epochs = 10,
        int batchSize = 64, double learningRate = 1e-3) =>
        LmuClassifier(catalog, Simple(labelColumnName, featureColumnName, sequenceLength, channels, order, hiddenCell, hiddenUnits, epochs, batchSize, learningRate));

    /// <summary>An LMU sequence classifier with every option (see <see cref="LmuClassifierOptions"/> for the defaults).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">The options; validated and copied.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/>, or a list or nested options object in it, is null.</exception>
    /// <exception cref="ArgumentException">An option is out of its range or conflicts with another; the message names it and its value.</exception>
    public static LmuClassifierEstimator LmuClassifier(this TransformsCatalog catalog, LmuClassifierOptions options) =>
        new(MLContextBridge.FromCatalog(catalog, "LmuClassifier", nameof(LmuClassifierEstimator)), options);

    /// <summary>The same classifier as <see cref="LmuClassifier(TransformsCatalog, string, string, int, int, int, HiddenCell, int, int, int, double)"/>, from the multiclass trainers catalog.</summary>
    /// <param name="catalog">The multiclass trainers catalog.</param>
    /// <param name="labelColumnName">Label column, conventionally a key made by MapValueToKey. Default "Label".</param>
    /// <param name="featureColumnName">Flattened sequences, Vector&lt;Single&gt; of length x channels. Default "Features".</param>
    /// <param name="sequenceLength">Steps T; 0 infers it from the vector size. Default 0.</param>
    /// <param name="channels">Channels per step. Default 1.</param>
    /// <param name="order">Legendre order of the memory, from 1 to <see cref="LmuLayerOptions.MaxOrder"/>. Default 64.</param>
    /// <param name="hiddenCell">Hidden cell. Default <see cref="HiddenCell.SimpleRnn"/>.</param>
    /// <param name="hiddenUnits">Hidden units. Default 64.</param>
    /// <param name="epochs">Passes over the data. Default 10.</param>
    /// <param name="batchSize">Rows per step. Default 64.</param>
    /// <param name="learningRate">Adam learning rate. Default 1e-3.</param>
    public static LmuClassifierEstimator Lmu(
        this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog, string labelColumnName = "Label",
        string featureColumnName = "Features", int sequenceLength = 0, int channels = 1, int order = 64, HiddenCell hiddenCell = HiddenCell.SimpleRnn,
        int hiddenUnits = 64, int epochs = 10, int batchSize = 64, double learningRate = 1e-3) =>
        Lmu(catalog, Simple(labelColumnName, featureColumnName, sequenceLength, channels, order, hiddenCell, hiddenUnits, epochs, batchSize, learningRate));

    /// <summary>The same classifier with every option, from the multiclass trainers catalog.</summary>
    /// <param name="catalog">The multiclass trainers catalog.</param>
    /// <param name="options">The options; validated and copied.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/>, or a list or nested options object in it, is null.</exception>
    /// <exception cref="ArgumentException">An option is out of its range or conflicts with another; the message names it and its value.</exception>
    public static LmuClassifierEstimator Lmu(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog, LmuClassifierOptions options) =>
        new(MLContextBridge.FromCatalog(catalog, "LmuClassifier", nameof(LmuClassifierEstimator)), options);

    private static LmuClassifierOptions Simple(
        string label, string features, int sequenceLength, int channels, int order, HiddenCell hiddenCell, int hiddenUnits, int epochs, int batchSize,
        double learningRate) =>
        new()
        {
            LabelColumnName = label, FeatureColumnName = features, SequenceLength = sequenceLength, Channels = channels,
            Layer = new LmuLayerOptions { Order = order, HiddenCell = hiddenCell, HiddenUnits = hiddenUnits },
            Training = new LmuTrainingOptions { Epochs = epochs, BatchSize = batchSize, LearningRate = learningRate },
        };
}
