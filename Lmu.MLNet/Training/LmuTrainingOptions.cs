namespace Lmu.MLNet.Training;

/// <summary>Optimisation settings for <see cref="LmuTrainer"/> (Adam, or AdamW when weight decay is set).</summary>
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

    /// <summary>Clip the global gradient norm to this value; 0 disables clipping. Default 1.0.</summary>
    public double GradientClipNorm { get; set; } = 1.0;

    /// <summary>
    /// Stop after this many epochs without a better validation loss and restore the best weights; 0 disables early
    /// stopping (the final weights are kept). Needs a validation source. Default 0.
    /// </summary>
    public int EarlyStoppingPatience { get; set; }

    /// <summary>Seed for torch's generator (dropout, shuffling done by torch); null leaves it as it is. Default null.</summary>
    public int? Seed { get; set; }

    /// <summary>Torch device: "cpu", "cuda" or "cuda:N". Default "cpu".</summary>
    public string Device { get; set; } = "cpu";

    /// <summary>A copy of these options.</summary>
    public LmuTrainingOptions Clone() => (LmuTrainingOptions)MemberwiseClone();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting and its value.</summary>
    public void Validate()
    {
        Require(Epochs >= 1, nameof(Epochs), Epochs, "must be at least 1");
        Require(BatchSize >= 1, nameof(BatchSize), BatchSize, "must be at least 1");
        Require(double.IsFinite(LearningRate) && LearningRate > 0, nameof(LearningRate), LearningRate, "must be a finite number > 0");
        Require(Enum.IsDefined(Schedule), nameof(Schedule), Schedule, "is not a known schedule");
        Require(double.IsFinite(WeightDecay) && WeightDecay >= 0, nameof(WeightDecay), WeightDecay, "must be >= 0");
        Require(double.IsFinite(GradientClipNorm) && GradientClipNorm >= 0, nameof(GradientClipNorm), GradientClipNorm, "must be >= 0 (0 = off)");
        Require(EarlyStoppingPatience >= 0, nameof(EarlyStoppingPatience), EarlyStoppingPatience, "must be >= 0 (0 = off)");
        Require(!string.IsNullOrWhiteSpace(Device), nameof(Device), Device, "must name a device (cpu, cuda, cuda:N)");
    }

    private static void Require(bool ok, string name, object value, string rule)
    {
        if (!ok) throw new ArgumentException($"Training option {name} = {value} {rule}.", name);
    }
}
