using Lmu.MLNet.Training;
using TorchSharp;

namespace Lmu.MLNet.Samples.Ucr;

/// <summary>
/// Training batches whose rows are each moved along their own time axis (<see cref="MapRow"/>), every channel alike.
/// Full-length rows only: a row with a length column would move its padding into its steps, so such batches are
/// refused.
/// </summary>
internal abstract class RowTimeMapBatchSource(ILmuBatchSource inner, int seed, int epochStride) : FeatureMapBatchSource(inner, seed, epochStride)
{
    /// <inheritdoc />
    protected sealed override torch.Tensor Map(LmuBatch batch, Random random)
    {
        if (batch.Lengths is not null)
        {
            throw new InvalidOperationException($"{GetType().Name} moves full-length rows only; this batch has a length column.");
        }

        var shape = batch.Features.shape;
        int rows = (int)shape[0], steps = (int)shape[1], channels = (int)shape[2], size = steps * channels;
        using var dense = batch.Features.contiguous();
        var x = dense.data<float>().ToArray();
        var y = new float[x.Length];
        for (int b = 0; b < rows; b++)
        {
            MapRow(x.AsSpan(b * size, size), y.AsSpan(b * size, size), steps, channels, random);
        }

        return torch.tensor(y, shape);
    }

    /// <summary>Writes the moved row (step-major, <paramref name="channels"/> values per step) into <paramref name="moved"/>.</summary>
    protected abstract void MapRow(ReadOnlySpan<float> row, Span<float> moved, int steps, int channels, Random random);
}
