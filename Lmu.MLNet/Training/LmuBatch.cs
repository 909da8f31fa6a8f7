using static TorchSharp.torch;

namespace Lmu.MLNet.Training;

/// <summary>One mini-batch on the CPU; the trainer moves it to the device and disposes it.</summary>
public sealed class LmuBatch : IDisposable
{
    /// <summary>Creates a batch.</summary>
    /// <param name="features">float32 [batch, T, channels].</param>
    /// <param name="target">int64 [batch] class indices (cross-entropy) or float32 [batch, outputs].</param>
    /// <param name="lengths">Optional int64 [batch] valid lengths of right-padded rows.</param>
    public LmuBatch(Tensor features, Tensor target, Tensor? lengths = null)
    {
        Features = features;
        Target = target;
        Lengths = lengths;
    }

    /// <summary>float32 [batch, T, channels].</summary>
    public Tensor Features { get; }

    /// <summary>Targets (see the constructor).</summary>
    public Tensor Target { get; }

    /// <summary>Valid lengths, or null when every row is full length.</summary>
    public Tensor? Lengths { get; }

    /// <summary>Rows in the batch.</summary>
    public long Count => Features.shape[0];

    /// <inheritdoc />
    public void Dispose()
    {
        Features.Dispose();
        Target.Dispose();
        Lengths?.Dispose();
    }
}
