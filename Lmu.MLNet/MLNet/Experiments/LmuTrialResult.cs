namespace Lmu.MLNet.Experiments;

/// <summary>How a trial ended.</summary>
public enum LmuTrialStatus
{
    /// <summary>Trained and evaluated.</summary>
    Completed = 0,

    /// <summary>Threw (invalid configuration, divergence...); see <see cref="LmuTrialResult.Error"/>. The experiment went on.</summary>
    Failed = 1,

    /// <summary>Stopped because the experiment's time budget ran out.</summary>
    StoppedByBudget = 2,

    /// <summary>Stopped because the caller cancelled (<see cref="LmuExperimentSettings.CancellationToken"/>).</summary>
    Cancelled = 3,
}

/// <summary>
/// One trial: a network configuration trained for one successive-halving rung, or a pooled-memory + ridge
/// configuration evaluated once (reported at rung 0 with 0 epochs; it has no epochs and counts as fully trained).
/// </summary>
/// <param name="TrialId">0-based, in the order trials started.</param>
/// <param name="Configuration">The sampled configuration (<see cref="LmuTrialConfiguration"/> or <see cref="LmuPooledRidgeConfiguration"/>).</param>
/// <param name="Rung">
/// Successive-halving rung (0 = fewest epochs; 0 for a pooled search trial); <see cref="LmuExperimentSettings.Rungs"/>
/// for a final-rung trial (a finalist re-run on every repeat's folds, compared with the default).
/// </param>
/// <param name="EpochsTrained">Epochs this trial trained for (0 for the pooled family).</param>
/// <param name="Status">How it ended.</param>
/// <param name="Metric">Validation metric, the mean of <see cref="FoldMetrics"/>; null unless Completed.</param>
/// <param name="Duration">Wall time of the trial.</param>
/// <param name="Error">Exception type and message when Failed.</param>
public sealed record LmuTrialResult(
    int TrialId, LmuModelConfiguration Configuration, int Rung, int EpochsTrained, LmuTrialStatus Status, double? Metric, TimeSpan Duration, string? Error)
{
    /// <summary>The configuration's model family.</summary>
    public LmuModelFamily Family => Configuration.Family;

    /// <summary>
    /// The metric on each validation fold, in fold order (repeat by repeat): a search trial has the first repeat's
    /// folds, trial 0 (the default) and a final-rung trial every repeat's, the same folds for every trial. Empty
    /// unless Completed.
    /// </summary>
    public IReadOnlyList<double> FoldMetrics { get; init; } = [];

    /// <summary>
    /// Spread of <see cref="Metric"/>: the standard error of the mean over <see cref="FoldMetrics"/>, corrected for the
    /// overlap of the folds' training rows (Nadeau and Bengio: the folds' variance times <c>1/J + n_valid/n_train</c>
    /// for J folds). Null with fewer than two folds or unless Completed.
    /// </summary>
    public double? MetricStandardError { get; init; }

    // The record's own ToString printed FoldMetrics as "System.Collections.Generic.List`1[System.Double]", which is
    // what Progress<LmuTrialResult>(Console.WriteLine) showed (found by QA); the values are listed instead.
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append(System.Globalization.CultureInfo.InvariantCulture,
            $"TrialId = {TrialId}, Configuration = {Configuration}, Rung = {Rung}, EpochsTrained = {EpochsTrained}, Status = {Status}, Metric = {Metric}, ");
        builder.Append(System.Globalization.CultureInfo.InvariantCulture,
            $"Duration = {Duration}, Error = {Error}, Family = {Family}, FoldMetrics = [{string.Join(", ", FoldMetrics.Select(m => m.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)))}], MetricStandardError = {MetricStandardError}");
        return true;
    }
}
