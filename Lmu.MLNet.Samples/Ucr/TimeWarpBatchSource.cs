using Lmu.MLNet.Training;
using TorchSharp;

namespace Lmu.MLNet.Samples.Ucr;

/// <summary>
/// Training batches with each row's time axis bent by a random smooth, increasing warp that keeps its first and last
/// step: the row is cut at <see cref="Segments"/> evenly spaced knots, each segment's duration is scaled by
/// exp(N(0, <paramref name="strength"/>)) and the scales renormalised to the row's length, and the row is read back at
/// the warped times by linear interpolation (every channel alike). Why: 1-NN DTW wins on sets whose classes are shapes
/// that stretch and move a little from row to row (CBF, MoteStrain); warped copies show the network that variation
/// instead of asking it to infer it from 20-30 rows.
/// </summary>
internal sealed class TimeWarpBatchSource(ILmuBatchSource inner, double strength, int seed) : RowTimeMapBatchSource(inner, seed, 15_485_863)
{
    /// <summary>Warp segments per row: few enough that each is a smooth stretch, not a local jitter.</summary>
    public const int Segments = 4;

    /// <inheritdoc />
    protected override void MapRow(ReadOnlySpan<float> row, Span<float> moved, int steps, int channels, Random random)
    {
        var times = new double[steps];
        WarpedTimes(random, times);
        for (int t = 0; t < steps; t++)
        {
            // Read the row at the warped time between its two neighbouring steps.
            int lo = Math.Min((int)times[t], steps - 1), hi = Math.Min(lo + 1, steps - 1);
            var w = (float)(times[t] - lo);
            for (int c = 0; c < channels; c++)
            {
                moved[(t * channels) + c] = ((1 - w) * row[(lo * channels) + c]) + (w * row[(hi * channels) + c]);
            }
        }
    }

    /// <summary>
    /// Fills <paramref name="times"/> with an increasing map of [0, T-1] onto itself: knot k (at k (T-1) / Segments)
    /// moves to the sum of the first k scaled durations, and steps between knots follow linearly.
    /// </summary>
    internal void WarpedTimes(Random random, double[] times)
    {
        var end = times.Length - 1;
        var knots = new double[Segments + 1];
        for (var k = 0; k < Segments; k++)
        {
            // Box-Muller: one standard normal per segment.
            var normal = Math.Sqrt(-2.0 * Math.Log(1.0 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            knots[k + 1] = knots[k] + Math.Exp(strength * normal);
        }

        for (var k = 1; k <= Segments; k++) knots[k] *= end / knots[Segments];
        for (var t = 0; t <= end; t++)
        {
            var u = (double)t * Segments / Math.Max(end, 1);
            var k = Math.Min((int)u, Segments - 1);
            times[t] = Math.Clamp(knots[k] + ((u - k) * (knots[k + 1] - knots[k])), 0, end);
        }
    }
}
