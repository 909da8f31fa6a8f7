using Lmu.MLNet.Training;

namespace Lmu.MLNet;

/// <summary>
/// What every trained LMU model reports about its training (plain data, kept in memory only, not in the model zip):
/// the part the classifier's <see cref="Classification.LmuClassifierModelInfo"/> and the forecaster's
/// <see cref="Forecasting.LmuForecastModelInfo"/> share, so both fitted transformers answer the same questions
/// through one <c>Info</c> property with the same names.
/// </summary>
public abstract class LmuTrainedModelInfo
{
    /// <summary>Trainable parameters of the trained network.</summary>
    public required long ParameterCount { get; init; }

    /// <summary>The seed training used: the options' seed, or the value drawn from the MLContext's seed stream.</summary>
    public required int Seed { get; init; }

    /// <summary>The torch device training ran on ("cpu", "cuda:0", ...), after any fallback to the CPU.</summary>
    public required string Device { get; init; }

    /// <summary>
    /// Training examples: for a classifier the labelled rows of the training data, including those
    /// <c>ValidationFraction</c> held out (ML.NET's split is approximate, so the rows trained on are about
    /// (1 - ValidationFraction) of them); for a forecaster the training windows, those held for validation excluded.
    /// </summary>
    public required long TrainingRows { get; init; }

    /// <summary>One report per epoch trained.</summary>
    public required IReadOnlyList<LmuEpochReport> History { get; init; }

    /// <summary>1-based epoch whose weights the model holds (the best validation epoch under early stopping, else the last).</summary>
    public required int BestEpoch { get; init; }

    /// <summary>Wall time of Fit (reading the data, training, export).</summary>
    public required TimeSpan FitTime { get; init; }

    /// <summary>
    /// Each LMU layer's theta (window in steps) in the model, first layer first: where training took it when
    /// <c>TrainableTheta</c> is on, else the value the layer was built with.
    /// </summary>
    public required IReadOnlyList<double> LayerThetas { get; init; }
}
