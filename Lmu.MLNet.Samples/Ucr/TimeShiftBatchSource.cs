using Lmu.MLNet.Training;
using TorchSharp;

namespace Lmu.MLNet.Samples.Ucr;

/// <summary>
/// Training batches with each row moved in time by a random whole number of steps in [-max, max], the steps it leaves
/// filled with its first or last value. Why: on sets whose classes are local shapes at varying positions (CBF, Trace)
/// a last-step readout has to learn every position from 20-100 rows; shifted copies show it more positions without
/// changing which class a row is. Full-length rows only (no length column).
/// </summary>
internal sealed class TimeShiftBatchSource(ILmuBatchSource inner, int maxShift, int seed) : RowTimeMapBatchSource(inner, seed, 7919)
{
    /// <inheritdoc />
    protected override void MapRow(ReadOnlySpan<float> row, Span<float> moved, int steps, int channels, Random random)
    {
        int k = random.Next(-maxShift, maxShift + 1);
        for (int t = 0; t < steps; t++)
        {
            int from = Math.Clamp(t - k, 0, steps - 1);
            row.Slice(from * channels, channels).CopyTo(moved.Slice(t * channels, channels));
        }
    }
}
