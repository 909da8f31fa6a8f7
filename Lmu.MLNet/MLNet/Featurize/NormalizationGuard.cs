namespace Lmu.MLNet.Featurize;

/// <summary>
/// Refuses a z-score that can only give zeros: over one value per row (<see cref="LmuFeatureNormalization.ZScorePerRow"/>
/// of a 1-step, 1-channel row) or one step per channel (<see cref="LmuFeatureNormalization.ZScorePerChannel"/> of
/// 1-step rows), every value is its own mean, so every feature was 0 and a model on them scored at chance (found by QA).
/// </summary>
internal static class NormalizationGuard
{
    /// <summary>Throws <see cref="ArgumentException"/> naming <paramref name="component"/>'s Normalization and the row shape.</summary>
    public static void Require(LmuFeatureNormalization normalization, int steps, int channels, string component)
    {
        var values = normalization switch
        {
            LmuFeatureNormalization.ZScorePerRow => steps * channels,
            LmuFeatureNormalization.ZScorePerChannel => steps,
            _ => int.MaxValue,
        };
        if (values == 1)
        {
            throw new ArgumentException(
                $"{component}: Normalization = {normalization} over rows of {steps} step(s) x {channels} channel(s) z-scores one value at a time, " +
                "which is always 0, so every feature would be 0. Use Normalization = None (or ZScorePerRow over several channels).",
                "Normalization");
        }
    }
}
