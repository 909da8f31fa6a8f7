namespace Lmu.MLNet.Training;

/// <summary>What one epoch achieved (accuracies only for cross-entropy; validation values only with a validation source).</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="Epochs">Epochs planned.</param>
/// <param name="TrainLoss">Mean training loss over the epoch's batches (dropout active).</param>
/// <param name="TrainAccuracy">Training accuracy over the epoch, or null.</param>
/// <param name="ValidationLoss">Mean validation loss, or null.</param>
/// <param name="ValidationAccuracy">Validation accuracy, or null.</param>
/// <param name="Elapsed">Time since training started.</param>
/// <param name="EstimatedRemaining">Estimated time for the remaining epochs.</param>
/// <param name="LearningRate">Learning rate at the end of the epoch.</param>
public sealed record LmuEpochReport(
    int Epoch, int Epochs, double TrainLoss, double? TrainAccuracy, double? ValidationLoss, double? ValidationAccuracy,
    TimeSpan Elapsed, TimeSpan EstimatedRemaining, double LearningRate)
{
    /// <summary>One line for logs: epoch, losses, accuracies, time and ETA.</summary>
    public override string ToString()
    {
        string acc(double? a) => a is null ? "" : $" acc {a.Value:P2}";
        string val = ValidationLoss is null ? "" : $" | valid loss {ValidationLoss:F4}{acc(ValidationAccuracy)}";
        return $"epoch {Epoch}/{Epochs}: train loss {TrainLoss:F4}{acc(TrainAccuracy)}{val} | lr {LearningRate:G3} | {Elapsed:hh\\:mm\\:ss} elapsed, ETA {EstimatedRemaining:hh\\:mm\\:ss}";
    }
}
