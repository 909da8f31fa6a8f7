namespace Lmu.MLNet.Training;

/// <summary>
/// Supplies mini-batches for one epoch at a time, so data can stream from a cursor instead of living in memory.
/// Implementations reshuffle per epoch as they see fit.
/// </summary>
public interface ILmuBatchSource
{
    /// <summary>The batches of epoch <paramref name="epoch"/> (0-based); each is disposed by the consumer.</summary>
    IEnumerable<LmuBatch> Batches(int epoch);
}
