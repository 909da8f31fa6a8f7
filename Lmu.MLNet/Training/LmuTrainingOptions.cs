namespace Lmu.MLNet.Training;

/// <summary>
/// Optimisation settings for <see cref="LmuTrainer"/> (Adam, or AdamW when weight decay is set). The ML.NET estimators
/// take the same settings as their <c>Training</c> option (LmuClassifierOptions.Training,
/// LmuForecastingOptions.Training), where a null <see cref="Seed"/> or <see cref="Device"/> gets that estimator's default.
/// </summary>
public sealed class LmuTrainingOptions
{
    /// <summary>Passes over the training data. Default 10.</summary>
    public int Epochs { get; set; } = 10;

    /// <summary>Rows per gradient step. Default 64.</summary>
    public int BatchSize { get; set; } = 64;

    /// <summary>Initial learning rate. Default 1e-3.</summary>
    public double LearningRate { get; set; } = 1e-3;

    /// <summary>Learning-rate schedule. Default <see cref="LearningRateSchedule.Cosine"/>.</summary>
    public LearningRateSchedule Schedule { get; set; } = LearningRateSchedule.Cosine;

    /// <summary>Decoupled weight decay (AdamW) when &gt; 0. Default 0.</summary>
    public double WeightDecay { get; set; }

    /// <summary>
    /// Clip the gradient norm to this value; 0 disables clipping. Default 1.0. Two groups are clipped apart: the layers'
    /// learned dynamics (theta, A, B, when trainable) and every other parameter, so that a large gradient of theta does
    /// not shrink the weights' steps.
    /// </summary>
    public double GradientClipNorm { get; set; } = 1.0;

    /// <summary>
    /// Stop after this many epochs without a better validation loss and restore the best weights; 0 disables early
    /// stopping (the final weights are kept). Needs a validation source. Default 0.
    /// </summary>
    public int EarlyStoppingPatience { get; set; }

    /// <summary>
    /// The training run's seed: <see cref="LmuTrainer"/> seeds torch's default generator with it (for anything in the
    /// caller's network that draws from it) and draws the dropout masks of this library's layers from a stream of it; null
    /// leaves the generator as it is and draws the masks from it. The ML.NET estimators build their network from a
    /// generator of this seed and leave torch's default generator alone (their Training option documents their default).
    /// Default null.
    /// </summary>
    public int? Seed { get; set; }

    /// <summary>
    /// Torch device: "cpu", "cuda" or "cuda:N"; null: <see cref="LmuTrainer"/> trains on the CPU (the ML.NET estimators
    /// document their own choice on their Training option). Default null.
    /// </summary>
    public string? Device { get; set; }

    /// <summary>
    /// MiB of states a recurrent last-step scan (a memory with recurrent connections, read at the last step) may keep
    /// for one batch's backward pass. Within it every state is kept; past it, one state every 8 steps (with a hidden
    /// cell) or 32 steps (without) is kept and the others are recomputed chunk by chunk in the backward pass: a third
    /// more scan arithmetic for an eighth (or a thirty-second) of the memory. 0 always recomputes. Default 1024: psMNIST's fully recurrent cell (468 state values per
    /// row and step) keeps 147 MB at batch 100 and 587 MB at batch 400 or at T 1568, where PyTorch's autograd keeps
    /// 1.4 GB for the same step (BENCHMARKS.md). Lower it where training shares a machine with a memory-bound service.
    /// </summary>
    public int ScanStateBudgetMiB { get; set; } = 1024;

    /// <summary>A copy of these options (every setting is a value, so the copy shares nothing).</summary>
    public LmuTrainingOptions Clone() => (LmuTrainingOptions)MemberwiseClone();

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming the first invalid setting (e.g. "LmuTrainingOptions.Epochs = 0 must be
    /// at least 1.", parameter name "Epochs") and its value.
    /// </summary>
    public void Validate() => Validate(nameof(LmuTrainingOptions), null);

    /// <summary>
    /// Validates these options as the property <paramref name="property"/> of <paramref name="owner"/>: messages name the
    /// full path ("LmuClassifierOptions.Training.Epochs = 0 ...") and the parameter name is "Training.Epochs", so the
    /// user sees which object's setting to fix.
    /// </summary>
    internal void Validate(string owner, string? property)
    {
        var prefix = property is null ? string.Empty : property + ".";
        var guard = new OptionsGuard($"{owner}.{prefix}", prefix);

        guard.Require(Epochs >= 1, nameof(Epochs), Epochs, "must be at least 1");
        guard.Require(BatchSize >= 1, nameof(BatchSize), BatchSize, "must be at least 1");
        guard.Require(double.IsFinite(LearningRate) && LearningRate > 0, nameof(LearningRate), LearningRate, "must be a finite number > 0");
        guard.Require(Enum.IsDefined(Schedule), nameof(Schedule), Schedule, "is not a known schedule");
        guard.Require(double.IsFinite(WeightDecay) && WeightDecay >= 0, nameof(WeightDecay), WeightDecay, "must be >= 0");
        guard.Require(double.IsFinite(GradientClipNorm) && GradientClipNorm >= 0, nameof(GradientClipNorm), GradientClipNorm, "must be >= 0 (0 = off)");
        guard.Require(EarlyStoppingPatience >= 0, nameof(EarlyStoppingPatience), EarlyStoppingPatience, "must be >= 0 (0 = off)");
        guard.Require(ScanStateBudgetMiB >= 0, nameof(ScanStateBudgetMiB), ScanStateBudgetMiB, "must be >= 0 (0 = always recompute)");
        guard.Require(Device is null || IsDeviceName(Device), nameof(Device), $"\"{Device}\"", "must be null or name a device (cpu, cuda, cuda:N)");
    }

    /// <summary>True for the device names training takes: cpu, cuda or cuda:N (any case, spaces around).</summary>
    internal static bool IsDeviceName(string device)
    {
        var text = device.Trim().ToLowerInvariant();
        return text is "cpu" or "cuda" || (text.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(text[5..], out var index) && index >= 0);
    }
}
