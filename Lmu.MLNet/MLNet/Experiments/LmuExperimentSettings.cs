using System.Globalization;
namespace Lmu.MLNet.Experiments;

/// <summary>Settings of an <see cref="LmuClassificationExperiment"/> (shaped like AutoML's experiment settings).</summary>
public sealed class LmuExperimentSettings
{
    private static readonly OptionsGuard Guard = new("LmuExperimentSettings.");

    /// <summary>
    /// Wall-clock budget for the search in seconds; a running trial is stopped when it runs out. Above 4,294,967 s (49.7
    /// days, the longest timer) the search runs without a timer, until <see cref="MaxConfigurations"/> or
    /// <see cref="CancellationToken"/> stops it. The final fit on all rows (<see cref="RefitOnAllData"/>) comes after
    /// the search and is not bounded by it; when the budget stopped the default before any fold fit finished, that fit's
    /// cost is unmeasured, and the MLContext's Log says so. Default 60.
    /// </summary>
    public double MaxExperimentTimeInSeconds { get; set; } = 60;

    /// <summary>Upper bound on sampled configurations, all families together (0 = until the time budget). Default 0.</summary>
    public int MaxConfigurations { get; set; }

    /// <summary>Metric to optimise on the validation data. Default <see cref="LmuExperimentMetric.MicroAccuracy"/>.</summary>
    public LmuExperimentMetric OptimizingMetric { get; set; } = LmuExperimentMetric.MicroAccuracy;

    /// <summary>
    /// Folds of stratified cross-validation when no validation set is given (each trial then fits this many
    /// models). Default 0: a single stratified hold-out of <see cref="ValidationFraction"/>.
    /// </summary>
    public int CrossValidationFolds { get; set; }

    /// <summary>Hold-out fraction when there is neither a validation set nor cross-validation. Default 0.2.</summary>
    public double ValidationFraction { get; set; } = 0.2;

    /// <summary>
    /// Repeats of the stratified folds (or of the hold-out), each with its own shuffle; the same folds for every
    /// trial. Search trials use the first repeat; trial 0 (the default) and the finalists every repeat. Default 0:
    /// automatic, <c>ceil(150 / rows)</c> clamped to [1, 5] (5 repeats at 20-30 rows, 1 from 150 rows, so a trial
    /// costs about the same whatever the row count), at least 2 for a hold-out (two splits give a spread). Ignored when
    /// a validation set is given.
    /// </summary>
    public int CrossValidationRepeats { get; set; }

    /// <summary>
    /// Trials re-evaluated on every repeat at the final rung and compared with the default: the best fully trained
    /// trials of the search by their first-repeat metric. Default 0: automatic, <c>rows / 50</c> clamped to [1, 4],
    /// so at a few tens of rows one challenger meets the default.
    /// </summary>
    public int Finalists { get; set; }

    /// <summary>
    /// Make the fixed pooled + ridge default (<see cref="LmuPooledRidgeConfiguration.Default"/>) trial 0 whenever the
    /// pooled family is searched: it is evaluated on every fold and kept unless a finalist beats it by more than
    /// <see cref="SelectionStandardErrors"/> standard errors. Default true.
    /// </summary>
    public bool StartWithDefault { get; set; } = true;

    /// <summary>
    /// The selection rule's margin: the best finalist replaces the default only when its mean improvement over the
    /// same folds exceeds this many (overlap-corrected) standard errors of the paired per-fold differences. 0: the
    /// better mean wins. Default 1.
    /// </summary>
    public double SelectionStandardErrors { get; set; } = 1;

    /// <summary>Seed of the configuration sampler, the splits and every trial's training. Default 0.</summary>
    public int Seed { get; set; }

    /// <summary>The search space. Default: see <see cref="LmuSearchSpace"/>.</summary>
    public LmuSearchSpace SearchSpace { get; set; } = new();

    /// <summary>
    /// Successive-halving rungs per bracket (1 = plain random search); <c>HalvingRate^(Rungs-1)</c>, the configurations a
    /// bracket draws before its first trial, must be at most <see cref="MaxBracketConfigurations"/> unless
    /// <see cref="MaxConfigurations"/> caps them. Default 3.
    /// </summary>
    public int Rungs { get; set; } = 3;

    /// <summary>
    /// Reduction factor: a bracket starts <c>HalvingRate^(Rungs-1)</c> configurations at <c>1/HalvingRate^(Rungs-1)</c>
    /// of their epochs and keeps the best <c>1/HalvingRate</c> at each rung. Default 3.
    /// </summary>
    public int HalvingRate { get; set; } = 3;

    /// <summary>The most configurations a bracket may start with (<c>HalvingRate^(Rungs-1)</c>).</summary>
    public const int MaxBracketConfigurations = 100_000;

    /// <summary>Mini-batch size of the LMU networks. Default 32.</summary>
    public int BatchSize { get; set; } = 32;

    /// <summary>
    /// Memory in MiB the recurrent scans of a network trial may use to keep every step's state for the backward pass;
    /// past it they keep a checkpoint every few steps and recompute the rest (slower, flat in memory). What
    /// <see cref="Training.LmuTrainingOptions.ScanStateBudgetMiB"/> is for one fit, for every trial and the refit here.
    /// Default 1024.
    /// </summary>
    public int ScanStateBudgetMiB { get; set; } = 1024;

    /// <summary>
    /// Retrain the best configuration on all training rows (hold-out or folds included) for the final model; its
    /// time is not part of the search budget. Ignored when a validation set is given (the best trial's network is
    /// used). Default true.
    /// </summary>
    public bool RefitOnAllData { get; set; } = true;

    /// <summary>
    /// Torch device for training the LMU networks ("cpu", "cuda", "cuda:N"; the pooled family runs on ONNX Runtime's CPU).
    /// Default <see langword="null"/>: follow the MLContext, as the LMU estimators do (its GpuDeviceId selects "cuda:N";
    /// when CUDA is absent its FallbackToCpu decides between the CPU, with a warning in its Log, and an
    /// <see cref="InvalidOperationException"/> before any trial).
    /// </summary>
    public string? Device { get; set; }

    /// <summary>
    /// Receives every finished trial (completed, failed or stopped), on the search's thread. An exception from its
    /// <c>Report</c> is written to <see cref="System.Diagnostics.Trace"/> and the search goes on, as AutoML does
    /// (<see cref="Progress{T}"/> calls its handler on the thread pool, where an exception ends the process: catch in
    /// the handler). To stop the search from the handler, cancel <see cref="CancellationToken"/>'s source; an exception
    /// thrown there, an <see cref="OperationCanceledException"/> included, does not stop it. Default null.
    /// </summary>
    public IProgress<LmuTrialResult>? Progress { get; set; }

    /// <summary>
    /// Cancels the experiment: the search stops (a running trial within one batch) and the best configuration so far is
    /// returned, or <see cref="OperationCanceledException"/> is thrown if no trial completed. With
    /// <see cref="RefitOnAllData"/> (the default) that configuration is first refitted on all rows, which is not
    /// interruptible and takes about as long as its trial (a message in the MLContext's Log says so); with
    /// <c>RefitOnAllData = false</c> the best trial's own model is returned at once; <see cref="AbortToken"/> stops the
    /// refit too.
    /// </summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>
    /// Aborts the whole experiment, the final refit included: the search stops as with <see cref="CancellationToken"/>,
    /// a refit running on all rows stops within one batch (a pooled configuration's within its current step), and
    /// <see cref="LmuClassificationExperiment.Execute"/> throws <see cref="OperationCanceledException"/> with no model.
    /// For a service that must stop now (QA: a 3,000-row refit ran 669 s past a 5 s budget, and the documented way to
    /// stop it, ML.NET's <c>MLContext.CancelExecution</c>, is internal to ML.NET). Default: none.
    /// </summary>
    public CancellationToken AbortToken { get; set; }

    /// <summary>Test hook run before each trial trains (throwing from it makes the trial fail).</summary>
    internal Action<LmuModelConfiguration>? BeforeTrial { get; set; }

    /// <summary>Test hook: a cheaper configuration in place of <see cref="LmuPooledRidgeConfiguration.Default"/> as trial 0.</summary>
    internal LmuPooledRidgeConfiguration? DefaultOverride { get; set; }

    /// <summary>
    /// Test hook: sees every fold's metric and may replace it (configuration, fold index over all repeats, the fold's
    /// validation rows (empty with a validation set), measured metric -> reported metric).
    /// </summary>
    internal Func<LmuModelConfiguration, int, IReadOnlyList<int>, double, double>? FoldMetricOverride { get; set; }

    /// <summary>
    /// A copy whose search space and lists are copies too (the ranges are immutable records; Progress, the token and the
    /// test hooks are shared). <see cref="LmuClassificationExperiment.Execute"/> runs on one, so settings changed while
    /// it runs do not reach it (found by QA: a metric changed mid-run ranked trials scored by two metrics together).
    /// </summary>
    internal LmuExperimentSettings Clone()
    {
        var copy = (LmuExperimentSettings)MemberwiseClone();
        copy.SearchSpace = SearchSpace?.Clone()!;
        return copy;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        Guard.Require(MaxExperimentTimeInSeconds > 0 && double.IsFinite(MaxExperimentTimeInSeconds), nameof(MaxExperimentTimeInSeconds), string.Create(CultureInfo.InvariantCulture, $"must be finite and positive but was {MaxExperimentTimeInSeconds}"));
        Guard.Require(MaxConfigurations >= 0, nameof(MaxConfigurations), $"must be 0 or positive but was {MaxConfigurations}");
        Guard.Require(Enum.IsDefined(OptimizingMetric), nameof(OptimizingMetric), $"is not a declared value ({(int)OptimizingMetric})");
        Guard.Require(CrossValidationFolds is 0 or >= 2, nameof(CrossValidationFolds), $"must be 0 or at least 2 but was {CrossValidationFolds}");
        Guard.Require(ValidationFraction is > 0 and < 1, nameof(ValidationFraction), string.Create(CultureInfo.InvariantCulture, $"must lie in (0, 1) but was {ValidationFraction}"));
        Guard.Require(CrossValidationRepeats >= 0, nameof(CrossValidationRepeats), $"must be 0 or positive but was {CrossValidationRepeats}");
        Guard.Require(Finalists >= 0, nameof(Finalists), $"must be 0 or positive but was {Finalists}");
        Guard.Require(SelectionStandardErrors >= 0 && double.IsFinite(SelectionStandardErrors), nameof(SelectionStandardErrors), string.Create(CultureInfo.InvariantCulture, $"must be finite and 0 or positive but was {SelectionStandardErrors}"));
        Guard.Require(Rungs >= 1, nameof(Rungs), $"must be at least 1 but was {Rungs}");
        // API QA: an unknown device passed, and every network trial then failed on it while the search went on.
        Guard.Require(Device is null || Training.LmuTrainingOptions.IsDeviceName(Device), nameof(Device), $"must be null or name a device (cpu, cuda, cuda:N) but was \"{Device}\"");
        Guard.Require(HalvingRate >= 2, nameof(HalvingRate), $"must be at least 2 but was {HalvingRate}");
        // Each bracket's configurations are drawn before its first trial: Rungs = 16 drew 14.3 million of them (33 s,
        // 1.1 GB) before the budget was looked at, and Rungs = 20 ran out of memory (QA).
        // MaxConfigurations caps what a bracket draws, so it lifts the limit (review: Rungs = 12 with 5 configurations
        // was refused).
        var bracket = Math.Pow(HalvingRate, Rungs - 1);
        Guard.Require(bracket <= MaxBracketConfigurations || (MaxConfigurations > 0 && MaxConfigurations <= MaxBracketConfigurations), nameof(Rungs), string.Create(CultureInfo.InvariantCulture,
            $"and HalvingRate start each bracket with HalvingRate^(Rungs-1) configurations, at most {MaxBracketConfigurations:N0} (or MaxConfigurations, when set, at most that), but Rungs {Rungs} and HalvingRate {HalvingRate} give {bracket:G3}; use fewer rungs or a smaller rate, or set MaxConfigurations"));
        Guard.Require(BatchSize >= 1, nameof(BatchSize), $"must be at least 1 but was {BatchSize}");
        Guard.Require(ScanStateBudgetMiB >= 0, nameof(ScanStateBudgetMiB), $"must be 0 or positive but was {ScanStateBudgetMiB}");
        Guard.Require(SearchSpace is not null, nameof(SearchSpace), "must not be null");
        SearchSpace!.Validate();
    }
}
