namespace Lmu.MLNet.Experiments;

/// <summary>
/// Means, spreads and the paired comparison of per-fold metrics from repeated cross-validation (or repeated hold-outs):
/// the statistics the experiment's selection rule reads.
/// </summary>
/// <remarks>
/// The folds of repeated k-fold share most of their training rows, so their metrics are positively correlated and the
/// naive standard error <c>sd / sqrt(J)</c> understates the noise of the mean (more repeats would shrink it without
/// bound). Nadeau and Bengio's correction (Machine Learning 52, 2003; used as the "corrected repeated k-fold t-test" by
/// Bouckaert and Frank, 2004) replaces <c>1/J</c> by <c>1/J + n_valid/n_train</c>, which stays above
/// <c>1/(k-1)</c> however many repeats are added.
/// </remarks>
internal static class LmuFoldStatistics
{
    /// <summary>The corrected standard error of the mean of <paramref name="values"/>; null with fewer than two values.</summary>
    /// <param name="values">One value per fold.</param>
    /// <param name="validToTrainRatio">Validation rows over training rows of a fold (1/(k-1) for k-fold).</param>
    public static double? StandardError(IReadOnlyList<double> values, double validToTrainRatio)
    {
        var j = values.Count;
        if (j < 2)
        {
            return null;
        }

        var mean = values.Average();
        var variance = values.Sum(v => (v - mean) * (v - mean)) / (j - 1);
        return Math.Sqrt(variance * ((1.0 / j) + validToTrainRatio));
    }

    /// <summary>
    /// How much better <paramref name="challenger"/> is than <paramref name="reference"/> on the same folds: the mean of
    /// the per-fold differences, signed so that positive is better under <paramref name="metric"/> (lower log-loss,
    /// higher accuracy), and the corrected standard error of that mean (null with one fold).
    /// </summary>
    public static (double Mean, double? StandardError) Improvement(
        IReadOnlyList<double> challenger, IReadOnlyList<double> reference, double validToTrainRatio, LmuExperimentMetric metric)
    {
        if (challenger.Count != reference.Count || challenger.Count == 0)
        {
            throw new ArgumentException($"LMU experiment: a paired comparison needs the same folds, but has {challenger.Count} and {reference.Count} fold metrics.");
        }

        var sign = metric == LmuExperimentMetric.LogLoss ? -1.0 : 1.0;
        var differences = challenger.Zip(reference, (c, r) => sign * (c - r)).ToArray();
        return (differences.Average(), StandardError(differences, validToTrainRatio));
    }

    /// <summary>
    /// The selection rule: the challenger replaces the reference only when its mean improvement exceeds
    /// <paramref name="standardErrors"/> corrected standard errors of that improvement (and is positive). With a single
    /// fold there is no estimate of the noise and the means decide.
    /// </summary>
    public static bool Replaces(double meanImprovement, double? standardError, double standardErrors) =>
        meanImprovement > 0 && meanImprovement > standardErrors * (standardError ?? 0);
}
