using Lmu.MLNet.Training;
using TorchSharp;

namespace Lmu.MLNet.Samples.Ucr;

/// <summary>
/// Training batches with independent Gaussian noise added to every value: standard deviation
/// <paramref name="relative"/> times that channel's standard deviation over the training rows, drawn afresh in every
/// epoch. Why: with 20-30 training rows a network can fit each row's noise; noisy copies of the rows ask it to classify
/// a neighbourhood of each row instead, which is what a nearest-neighbour rule does by construction.
/// </summary>
internal sealed class JitterBatchSource(ILmuBatchSource inner, float[] channelStd, double relative, int seed) : FeatureMapBatchSource(inner, seed, 104_723)
{
    /// <inheritdoc />
    protected override torch.Tensor Map(LmuBatch batch, Random random) => AddNoise(batch.Features, random);

    private torch.Tensor AddNoise(torch.Tensor features, Random generator)
    {
        var shape = features.shape;
        var channels = (int)shape[2];
        using var dense = features.contiguous();
        var x = dense.data<float>().ToArray();
        for (var i = 0; i < x.Length; i++)
        {
            // Box-Muller: one standard normal per value.
            var u1 = 1.0 - generator.NextDouble();
            var u2 = generator.NextDouble();
            var normal = Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
            x[i] += (float)(normal * relative * channelStd[i % channels]);
        }

        return torch.tensor(x, shape);
    }
}
