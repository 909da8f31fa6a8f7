namespace Lmu.MLNet.Training;

/// <summary>The loss the trainer minimises.</summary>
public enum LmuLoss
{
    /// <summary>Softmax cross-entropy; targets are int64 class indices [batch].</summary>
    CrossEntropy,

    /// <summary>Mean squared error; targets are float32 [batch, outputs].</summary>
    MeanSquaredError,

    /// <summary>Mean absolute error; targets are float32 [batch, outputs].</summary>
    MeanAbsoluteError,
}
