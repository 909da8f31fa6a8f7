namespace Lmu.MLNet.Training;

/// <summary>The outcome of <see cref="LmuTrainer.Train(Modules.LmuNetwork, ILmuBatchSource, ILmuBatchSource?, LmuLoss, LmuTrainingOptions, IProgress{LmuEpochReport}?, CancellationToken)"/>.</summary>
public sealed class LmuTrainingResult
{
    internal LmuTrainingResult(IReadOnlyList<LmuEpochReport> history, int bestEpoch)
    {
        History = history;
        BestEpoch = bestEpoch;
    }

    /// <summary>One report per completed epoch.</summary>
    public IReadOnlyList<LmuEpochReport> History { get; }

    /// <summary>1-based epoch whose weights the network holds (the best validation epoch under early stopping, else the last).</summary>
    public int BestEpoch { get; }
}
