namespace Lmu.MLNet.Featurize;

/// <summary>How <see cref="LmuFeaturizerEstimator"/> rescales each row before the Legendre memory reads it.</summary>
public enum LmuFeatureNormalization
{
    /// <summary>The values are used as they are.</summary>
    None = 0,

    /// <summary>
    /// Z-score over all (valid) values of the row: <c>(x - mean) / std</c> with the population standard deviation (the
    /// sum of squares divided by the count, not the count less one), the usual UCR normalisation, whatever the row's
    /// scale. A row whose standard deviation is below 1e-8 of its largest magnitude (constant in float32) is only
    /// centred (it becomes all zeros), so constant rows never divide by zero.
    /// </summary>
    ZScorePerRow = 1,

    /// <summary>
    /// Z-score of each channel over the (valid) steps of the row, for multivariate series whose channels have
    /// different units. Same population standard deviation and 1e-8 guard as <see cref="ZScorePerRow"/>.
    /// </summary>
    ZScorePerChannel = 2,
}
