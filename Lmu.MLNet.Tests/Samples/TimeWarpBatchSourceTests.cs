using Lmu.MLNet.Samples.Ucr;
using Lmu.MLNet.Training;
using TorchSharp;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>ucr-dynamics +warpX: each training row read back along a random smooth, increasing time warp.</summary>
[TestClass]
public sealed class TimeWarpBatchSourceTests
{
    private const int Rows = 8, Steps = 101, Channels = 2;

    [TestMethod]
    public void WarpIsIncreasingKeepsTheEndsAndBendsTheMiddle()
    {
        var source = new TimeWarpBatchSource(new EmptySource(), 0.4, seed: 1);
        var random = new Random(5);
        var times = new double[Steps];
        var largest = 0.0;
        for (var draw = 0; draw < 50; draw++)
        {
            source.WarpedTimes(random, times);
            Assert.AreEqual(0, times[0], 1e-12, "the first step stays");
            Assert.AreEqual(Steps - 1, times[^1], 1e-9, "the last step stays");
            for (var t = 1; t < Steps; t++) Assert.IsGreaterThan(times[t - 1], times[t], $"draw {draw}: warped time must increase at step {t}");
            largest = Math.Max(largest, Enumerable.Range(0, Steps).Max(t => Math.Abs(times[t] - t)));
        }

        // exp(0.4 N) scales segment durations by 0.67-1.5 at one sigma, so some draw moves a step by several steps.
        Assert.IsGreaterThan(3.0, largest, "a warp of strength 0.4 must move some step by more than 3 steps");
    }

    [TestMethod]
    public void RowsAreReadAtTheWarpedTimesEveryChannelAlikeAndRedrawnEachEpoch()
    {
        // Channel c of every row is the ramp (c + 1) * t: linear interpolation reads it back exactly, so each output value
        // is (c + 1) times the warped time of its step, and both channels must see the same time.
        var values = new float[Rows * Steps * Channels];
        for (var i = 0; i < values.Length; i++) values[i] = ((i % Channels) + 1) * (i / Channels % Steps);
        using var x = torch.tensor(values, [Rows, Steps, Channels]);
        using var y = torch.arange(Rows, dtype: torch.int64);
        var source = new TimeWarpBatchSource(new TensorBatchSource(x, y, 4, shuffle: false, seed: 1), 0.3, seed: 3);

        var first = Values(source, 0);
        CollectionAssert.AreEqual(first, Values(source, 0), "the same seed and epoch must warp alike");
        var second = Values(source, 1);
        Assert.IsGreaterThan(first.Length / 2, first.Zip(second, (a, b) => a != b).Count(d => d), "a new epoch must draw new warps");
        for (var i = 0; i < first.Length; i += Channels)
        {
            Assert.AreEqual(2 * first[i], first[i + 1], 1e-3, $"value {i}: both channels must be read at the same warped time");
        }

        var moved = Enumerable.Range(0, Rows * Steps).Max(i => Math.Abs(first[i * Channels] - (i % Steps)));
        Assert.IsGreaterThan(1.0, moved, "rows must be warped, not copied");
    }

    [TestMethod]
    public void RowsWithALengthColumnAreRefused()
    {
        using var x = torch.zeros([Rows, Steps, Channels]);
        using var y = torch.arange(Rows, dtype: torch.int64);
        using var lengths = torch.full([Rows], Steps, dtype: torch.int64);
        var source = new TimeWarpBatchSource(new TensorBatchSource(x, y, 4, shuffle: false, seed: 1, lengths), 0.3, seed: 3);
        Assert.ThrowsExactly<InvalidOperationException>(() => Values(source, 0));
    }

    private static float[] Values(ILmuBatchSource source, int epoch)
    {
        var values = new List<float>();
        foreach (var batch in source.Batches(epoch))
        {
            using (batch)
            using (var dense = batch.Features.contiguous())
            {
                values.AddRange(dense.data<float>().ToArray());
            }
        }

        return values.ToArray();
    }

    private sealed class EmptySource : ILmuBatchSource
    {
        public IEnumerable<LmuBatch> Batches(int epoch) => [];
    }
}
