using Lmu.MLNet.Training;
using TorchSharp;

namespace Lmu.MLNet.Samples.Ucr;

/// <summary>
/// Training batches whose features are replaced by <see cref="Map"/> of them (the study's augmentations), with targets
/// and lengths passed through. The random source of epoch e is seeded with <c>seed + e * epochStride</c>, so the same
/// seed and epoch map alike. Each new batch owns its new features; the original features are released here.
/// </summary>
internal abstract class FeatureMapBatchSource(ILmuBatchSource inner, int seed, int epochStride) : ILmuBatchSource
{
    /// <inheritdoc />
    public IEnumerable<LmuBatch> Batches(int epoch)
    {
        var random = new Random(unchecked(seed + (epoch * epochStride)));
        foreach (var batch in inner.Batches(epoch))
        {
            torch.Tensor mapped;
            try
            {
                mapped = Map(batch, random);
            }
            catch
            {
                batch.Dispose();
                throw;
            }

            batch.Features.Dispose();
            yield return new LmuBatch(mapped, batch.Target, batch.Lengths);
        }
    }

    /// <summary>The new features [batch, T, C] of <paramref name="batch"/> (a new tensor; the batch's own are released after).</summary>
    protected abstract torch.Tensor Map(LmuBatch batch, Random random);
}
