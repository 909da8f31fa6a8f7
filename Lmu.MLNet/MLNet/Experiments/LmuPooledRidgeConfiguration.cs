using System.Globalization;

namespace Lmu.MLNet.Experiments;

/// <summary>
/// One point of the pooled-memory + ridge family (<see cref="LmuModelFamily.PooledRidge"/>): the
/// <see cref="LmuPooledFeaturizerEstimator"/> settings; the ridge that follows chooses its own penalty by leave-one-out
/// error, so it has none. Window lengths span the featurizer's defaults, [min(8, T), T].
/// </summary>
/// <param name="Windows">Legendre memories, each of a random window length.</param>
/// <param name="ProjectionsPerWindow">Random projections per memory (two features each).</param>
/// <param name="Order">Legendre coefficients per memory.</param>
/// <param name="Normalization">Per-row rescaling inside the model.</param>
/// <param name="Seed">Seed of the featurizer's sampling (the same for every fold and for the refit).</param>
public sealed record LmuPooledRidgeConfiguration(int Windows, int ProjectionsPerWindow, int Order, LmuFeatureNormalization Normalization, int Seed)
    : LmuModelConfiguration
{
    /// <inheritdoc />
    public override LmuModelFamily Family => LmuModelFamily.PooledRidge;

    /// <summary>
    /// The fixed configuration recommended for UCR-style classification and the experiment's trial 0:
    /// <see cref="LmuPooledFeaturizerOptions"/>' defaults (50 windows x 100 projections, order 9: 10,000 features),
    /// rows z-scored when there is one channel and kept raw when there are several (their magnitudes can carry the class).
    /// </summary>
    /// <param name="channels">Values per step.</param>
    /// <param name="seed">Seed of the featurizer's sampling.</param>
    public static LmuPooledRidgeConfiguration Default(int channels, int seed)
    {
        var defaults = new LmuPooledFeaturizerOptions();
        return new(defaults.Windows, defaults.ProjectionsPerWindow, defaults.Order,
            channels == 1 ? LmuFeatureNormalization.ZScorePerRow : LmuFeatureNormalization.None, seed);
    }

    /// <summary>Number of features the featurizer writes: <c>2 x Windows x ProjectionsPerWindow</c>.</summary>
    public int FeatureCount => 2 * Windows * ProjectionsPerWindow;

    /// <summary>
    /// The featurizer these values describe, reading <paramref name="inputColumnName"/> (fixed rows of
    /// <paramref name="channels"/> values per step, no length column) into <paramref name="outputColumnName"/>; follow it
    /// with <c>mlContext.MulticlassClassification.Trainers.Ridge</c> to rebuild the experiment's model.
    /// </summary>
    public LmuPooledFeaturizerOptions FeaturizerOptions(string inputColumnName, string outputColumnName, int channels) => new()
    {
        InputColumnName = inputColumnName,
        OutputColumnName = outputColumnName,
        Channels = channels,
        Windows = Windows,
        ProjectionsPerWindow = ProjectionsPerWindow,
        Order = Order,
        Normalization = Normalization,
        Seed = Seed,
    };

    /// <summary>Compact one-line form for logs.</summary>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"pooled-ridge windows={Windows} projections={ProjectionsPerWindow} order={Order} normalization={Normalization} seed={Seed}");
}
