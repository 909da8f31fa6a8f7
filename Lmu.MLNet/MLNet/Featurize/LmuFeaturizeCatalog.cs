using Lmu.MLNet.Maths;
using Microsoft.ML;

namespace Lmu.MLNet.MLNet;

/// <summary><c>mlContext.Transforms.LmuFeaturize(...)</c>.</summary>
public static class LmuFeaturizeCatalog
{
    /// <summary>
    /// A fixed Legendre memory over <paramref name="inputColumnName"/> (fixed-size <c>Vector&lt;Single&gt;</c>,
    /// time-major), output as <paramref name="outputColumnName"/>: <c>channels x order</c> values, channel-major.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Output column. Required.</param>
    /// <param name="inputColumnName">Input column. Default: <paramref name="outputColumnName"/> (in place).</param>
    /// <param name="order">Legendre coefficients per channel. Default 16.</param>
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
        });
    }

    /// <summary>The featurizer with every option (window positions, decoded delays, a length column...).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">The options; validated and copied.</param>
    public static LmuFeaturizerEstimator LmuFeaturize(this TransformsCatalog catalog, LmuFeaturizerOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new LmuFeaturizerEstimator(options);
    }
}
