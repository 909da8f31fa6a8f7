using Lmu.MLNet.Training;
using TorchSharp;

namespace Lmu.MLNet.Samples.Ucr;

/// <summary>
/// Training batches with each row moved in time by a random whole number of steps in [-max, max], the steps it leaves
/// filled with its first or last value. Why: on sets whose classes are local shapes at varying positions (CBF, Trace)
/// a last-step readout has to learn every position from 20-100 rows; shifted copies show it more positions without
/// changing which class a row is. Full-length rows only (no length column).
/// </summary>
internal sealed class TimeShiftBatchSource(ILmuBatchSource inner, int maxShift, int seed) : FeatureMapBatchSource(inner, seed, 7919)
{
    /// <inheritdoc />
    protected override torch.Tensor Map(LmuBatch batch, Random random) => batch.Lengths is null
        ? Shift(batch.Features, random)
        : throw new InvalidOperationException("TimeShiftBatchSource shifts full-length rows only; this batch has a length column.");

    private torch.Tensor Shift(torch.Tensor features, Random random)
    {
        var shape = features.shape;
        int rows = (int)shape[0], steps = (int)shape[1], channels = (int)shape[2];
        using var dense = features.contiguous();
        var x = dense.data<float>().ToArray();
        var y = new float[x.Length];
        for (int b = 0; b < rows; b++)
        {
            int k = random.Next(-maxShift, maxShift + 1);
            int row = b * steps * channels;
            for (int t = 0; t < steps; t++)
            {
                int from = Math.Clamp(t - k, 0, steps - 1);
                Array.Copy(x, row + (from * channels), y, row + (t * channels), channels);
            }
        }

        return torch.tensor(y, shape);
    }
}
