namespace Lmu.MLNet.Samples.Bench;

/// <summary>One side of the interleaved bench (ours in this process, or the PyTorch peer in its driver process).</summary>
internal interface IBenchSide : IDisposable
{
    /// <summary>"ours" or "peer".</summary>
    string Name { get; }

    /// <summary>Median GFLOP/s of an n x n float32 matrix product (the side's own library and threads).</summary>
    double MatmulGflops(int n, int reps);

    /// <summary>Median GB/s (bytes read + written) of copying a tensor of <paramref name="mib"/> MiB.</summary>
    double CopyGBs(int mib, int reps);

    /// <summary>Builds a configuration (see <see cref="BenchConfigurations"/>) with T steps, theta = T, and its data.</summary>
    void Setup(string config, int steps, int batch, int seed);

    /// <summary>
    /// Seconds per training step (forward, cross-entropy, backward, Adam), the mean of <paramref name="calls"/> steps run
    /// back to back and timed together.
    /// </summary>
    double Train(int calls = 1);

    /// <summary>Seconds per inference batch (no gradient), the mean of <paramref name="calls"/> batches run back to back.</summary>
    double Infer(int calls = 1);

    /// <summary>One training step's seconds and the peak resident memory it added (KiB; -1 where not measurable).</summary>
    (double Seconds, long PeakKb) TrainWithMemory();

    /// <summary>One inference batch's seconds and the peak resident memory it added (KiB; -1 where not measurable).</summary>
    (double Seconds, long PeakKb) InferWithMemory();
}
