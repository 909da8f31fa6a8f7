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
}

/// <summary>
/// One trial: a network configuration trained for one successive-halving rung, or a pooled-memory + ridge
/// configuration evaluated once (reported at rung 0 with 0 epochs; it has no epochs and counts as fully trained).
/// </summary>
/// <param name="TrialId">0-based, in the order trials started.</param>
/// <param name="Configuration">The sampled configuration (<see cref="LmuTrialConfiguration"/> or <see cref="LmuPooledRidgeConfiguration"/>).</param>
/// <param name="Rung">Successive-halving rung (0 = fewest epochs; always 0 for the pooled family).</param>
/// <param name="EpochsTrained">Epochs this trial trained for (0 for the pooled family).</param>
/// <param name="Status">How it ended.</param>
/// <param name="Metric">Validation metric (mean over folds); null unless Completed.</param>
/// <param name="Duration">Wall time of the trial.</param>
/// <param name="Error">Exception type and message when Failed.</param>
public sealed record LmuTrialResult(
    int TrialId, LmuModelConfiguration Configuration, int Rung, int EpochsTrained, LmuTrialStatus Status, double? Metric, TimeSpan Duration, string? Error)
{
    /// <summary>The configuration's model family.</summary>
    public LmuModelFamily Family => Configuration.Family;
}
