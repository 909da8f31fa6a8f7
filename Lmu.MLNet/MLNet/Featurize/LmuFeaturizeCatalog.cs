using Lmu.MLNet.Maths;
using Microsoft.ML;

namespace Microsoft.ML;

/// <summary><c>mlContext.Transforms.LmuFeaturize(...)</c> and <c>mlContext.Transforms.LmuPooledFeaturize(...)</c>.</summary>
public static class LmuFeaturizeCatalog
{
    /// <summary>
    /// A fixed Legendre memory over <paramref name="inputColumnName"/> (fixed-size <c>Vector&lt;Single&gt;</c>,
    /// time-major), output as <paramref name="outputColumnName"/>: <c>channels x order</c> values, channel-major.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Output column. Required.</param>
    /// <param name="inputColumnName">Input column. Default: <paramref name="outputColumnName"/> (in place).</param>
    /// <param name="order">Legendre coefficients per channel, from 1 to 1,024. Default 16.</param>
    /// <param name="theta">Window in steps. Default: the sequence length.</param>
    /// <param name="channels">Values per step. Default 1.</param>
    /// <param name="normalization">Per-row rescaling. Default none.</param>
    /// <param name="discretizer">Discretisation. Default ZOH.</param>
    public static LmuFeaturizerEstimator LmuFeaturize(
        this TransformsCatalog catalog,
        string outputColumnName,
        string? inputColumnName = null,
        int order = 16,
        double? theta = null,
        int channels = 1,
        LmuFeatureNormalization normalization = LmuFeatureNormalization.None,
        LmuDiscretizer discretizer = LmuDiscretizer.Zoh)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new LmuFeaturizerEstimator(new LmuFeaturizerOptions
        {
            OutputColumnName = outputColumnName,
            InputColumnName = inputColumnName ?? outputColumnName,
            Order = order,
            Theta = theta,
            Channels = channels,
            Normalization = normalization,
            Discretizer = discretizer,
        }, MLContextBridge.TempFolderOf(catalog), MLContextBridge.CancellationOf(catalog));
    }

    /// <summary>The featurizer with every option (window positions, decoded delays, a length column...).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">The options; validated and copied.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/>, or a list in it, is null.</exception>
    /// <exception cref="ArgumentException">An option is out of its range or conflicts with another; the message names it and its value.</exception>
    public static LmuFeaturizerEstimator LmuFeaturize(this TransformsCatalog catalog, LmuFeaturizerOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new LmuFeaturizerEstimator(options, MLContextBridge.TempFolderOf(catalog), MLContextBridge.CancellationOf(catalog));
    }

    /// <summary>
    /// Random projections of many fixed Legendre memories, pooled over time (see <see cref="LmuPooledFeaturizerOptions"/>):
    /// <c>2 x windows x projectionsPerWindow</c> shift-invariant features per row. Fit reads the rows once.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Output column. Required.</param>
    /// <param name="inputColumnName">Input column (fixed-size <c>Vector&lt;Single&gt;</c>, time-major). Default: <paramref name="outputColumnName"/> (in place).</param>
    /// <param name="channels">Values per step. Default 1.</param>
    /// <param name="windows">Memories, each of a random window length. Default 50.</param>
    /// <param name="projectionsPerWindow">Random projections per memory. Default 100.</param>
    /// <param name="order">Legendre coefficients per memory. Default 9.</param>
    /// <param name="seed">Sampling seed. Default: drawn from the MLContext's seed stream.</param>
    public static LmuPooledFeaturizerEstimator LmuPooledFeaturize(
        this TransformsCatalog catalog,
        string outputColumnName,
        string? inputColumnName = null,
        int channels = 1,
        int windows = 50,
        int projectionsPerWindow = 100,
        int order = 9,
        int? seed = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new LmuPooledFeaturizerEstimator(MLContextBridge.FromCatalog(catalog, "LmuPooledFeaturize", nameof(LmuPooledFeaturizerEstimator)), new LmuPooledFeaturizerOptions
        {
            OutputColumnName = outputColumnName,
            InputColumnName = inputColumnName ?? outputColumnName,
            Channels = channels,
            Windows = windows,
            ProjectionsPerWindow = projectionsPerWindow,
            Order = order,
            Seed = seed,
        });
    }

    /// <summary>The pooled featurizer with every option (length column, window range, normalisation...).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">The options; validated and copied.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/>, or a list in it, is null.</exception>
    /// <exception cref="ArgumentException">An option is out of its range or conflicts with another; the message names it and its value.</exception>
    public static LmuPooledFeaturizerEstimator LmuPooledFeaturize(this TransformsCatalog catalog, LmuPooledFeaturizerOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new LmuPooledFeaturizerEstimator(MLContextBridge.FromCatalog(catalog, "LmuPooledFeaturize", nameof(LmuPooledFeaturizerEstimator)), options);
    }
}
