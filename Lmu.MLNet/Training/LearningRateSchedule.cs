namespace Lmu.MLNet.Training;

/// <summary>How the learning rate changes over training.</summary>
public enum LearningRateSchedule
{
    /// <summary>The same rate throughout.</summary>
    Constant,

    /// <summary>Cosine annealing from the initial rate to zero over all batches of all epochs.</summary>
    Cosine,
}
