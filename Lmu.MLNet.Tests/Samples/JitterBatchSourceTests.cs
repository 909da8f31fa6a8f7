using Lmu.MLNet.Samples.Ucr;
using Lmu.MLNet.Training;
using TorchSharp;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>ucr-dynamics +jitterX: Gaussian noise of X channel standard deviations on every training value.</summary>
[TestClass]
public sealed class JitterBatchSourceTests
{
    private const int Rows = 8, Steps = 500, Channels = 2;
    private const double Relative = 0.3;
    private static readonly float[] ChannelStd = [1f, 10f];

    [TestMethod]
    public void NoiseHasEachChannelsScaleZeroMeanAndIsRedrawnEachEpoch()
    {
        // Rows of a fixed pattern, so the noise is what a batch adds to it.
        var values = Enumerable.Range(0, Rows * Steps * Channels).Select(i => (float)Math.Sin(i * 0.01)).ToArray();
        using var x = torch.tensor(values, [Rows, Steps, Channels]);
        using var y = torch.arange(Rows, dtype: torch.int64);
        var source = new JitterBatchSource(new TensorBatchSource(x, y, 4, shuffle: false, seed: 1), ChannelStd, Relative, seed: 3);

        var first = Noise(source, 0, values);
        CollectionAssert.AreEqual(first, Noise(source, 0, values), "the same seed and epoch must draw the same noise");
        var second = Noise(source, 1, values);
        Assert.IsGreaterThan(0.9 * first.Length, first.Zip(second, (a, b) => a != b).Count(d => d), "a new epoch must draw new noise");

        for (var c = 0; c < Channels; c++)
        {
            var n = first.Where((_, i) => i % Channels == c).Select(v => (double)v).ToArray();
            var expected = Relative * ChannelStd[c];
            var mean = n.Average();
            var sd = Math.Sqrt(n.Sum(v => (v - mean) * (v - mean)) / n.Length);
            // n = 4000 values per channel: the sample sd is within about 1.1 % of the true one (1 sigma), the mean within
            // expected / 63; the bounds are about 4.5 sigma, so a right source fails them rarely and a wrong scale always.
            Assert.AreEqual(expected, sd, 0.05 * expected, $"channel {c}: noise sd");
            Assert.AreEqual(0, mean, 0.075 * expected, $"channel {c}: noise mean");
        }
    }

    [TestMethod]
    public void TargetsAndLengthsPassThrough()
    {
        using var x = torch.zeros([Rows, Steps, Channels]);
        using var y = torch.arange(Rows, dtype: torch.int64);
        using var lengths = torch.arange(1, Rows + 1, dtype: torch.int64);
        var source = new JitterBatchSource(new TensorBatchSource(x, y, 4, shuffle: false, seed: 1, lengths), ChannelStd, Relative, seed: 3);
        var targets = new List<long>();
        var seenLengths = new List<long>();
        foreach (var batch in source.Batches(0))
        {
            using (batch)
            {
                targets.AddRange(batch.Target.data<long>().ToArray());
                seenLengths.AddRange(batch.Lengths!.data<long>().ToArray());
            }
        }

        CollectionAssert.AreEqual(Enumerable.Range(0, Rows).Select(i => (long)i).ToList(), targets);
        CollectionAssert.AreEqual(Enumerable.Range(1, Rows).Select(i => (long)i).ToList(), seenLengths);
    }

    // Every value of one epoch minus the row it came from, in batch order (rows are not shuffled).
    private static float[] Noise(ILmuBatchSource source, int epoch, float[] clean)
    {
        var noise = new List<float>();
        foreach (var batch in source.Batches(epoch))
        {
            using (batch)
            {
                noise.AddRange(batch.Features.contiguous().data<float>().ToArray());
            }
        }

        return noise.Select((v, i) => v - clean[i]).ToArray();
    }
}
