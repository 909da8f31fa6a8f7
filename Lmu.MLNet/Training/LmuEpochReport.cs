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
        // In the invariant culture, as every other log line (QA: fa-IR wrote 0٫2421 and tr-TR "acc %100,00").
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        string acc(double? a) => a is null ? "" : string.Create(inv, $" acc {a.Value * 100:F2}%");
        string val = ValidationLoss is null ? "" : string.Create(inv, $" | valid loss {ValidationLoss:F4}{acc(ValidationAccuracy)}");
        return string.Create(inv, $"epoch {Epoch}/{Epochs}: train loss {TrainLoss:F4}{acc(TrainAccuracy)}{val} | lr {LearningRate:G3} | {Elapsed:hh\\:mm\\:ss} elapsed, ETA {EstimatedRemaining:hh\\:mm\\:ss}");
    }
}
