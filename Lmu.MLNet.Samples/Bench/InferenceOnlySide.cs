namespace Lmu.MLNet.Samples.Bench;

/// <summary>
/// A bench side that times inference only (a deployed form of our trained network): the machine ceilings, training
/// and <see cref="IBenchSide.Setup"/> have no meaning there and throw; the network arrives through the side's own Load.
/// </summary>
internal abstract class InferenceOnlySide : IBenchSide
{
    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public double Infer(int calls = 1)
    {
        double total = 0;
        for (int i = 0; i < calls; i++) total += InferOnce();
        return total / calls;
    }

    /// <summary>Seconds of one inference batch.</summary>
    protected abstract double InferOnce();

    /// <inheritdoc />
    public (double Seconds, long PeakKb) InferWithMemory()
    {
        double s = 0;
        long kb = ProcessMemory.PeakAddedKb(() => s = Infer());
        return (s, kb);
    }

    /// <inheritdoc />
    public double MatmulGflops(int n, int reps) => throw new NotSupportedException($"{Name} measures inference only.");

    /// <inheritdoc />
    public double CopyGBs(int mib, int reps) => throw new NotSupportedException($"{Name} measures inference only.");

    /// <inheritdoc />
    public void Setup(string config, int steps, int batch, int seed) => throw new NotSupportedException($"{Name}: load the trained network with Load.");

    /// <inheritdoc />
    public double Train(int calls = 1) => throw new NotSupportedException($"{Name} measures inference only.");

    /// <inheritdoc />
    public (double Seconds, long PeakKb) TrainWithMemory() => throw new NotSupportedException($"{Name} measures inference only.");

    /// <inheritdoc />
    public abstract void Dispose();
}
