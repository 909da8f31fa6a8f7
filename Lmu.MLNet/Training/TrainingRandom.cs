using Lmu.MLNet.Modules;
using TorchSharp;

namespace Lmu.MLNet.Training;

/// <summary>
/// Seeded randomness that Fits running at the same time, and the host's own torch code, do not share. torch's default
/// generator is one per process: two concurrent Fits with the same seed each reseeded it and then drew their initial
/// weights and dropout masks from it in turn, so neither reproduced the solo Fit (found by QA); later QA found the same
/// with any other code drawing from it, and every Fit reseeding the host's generator. Now a Fit's network draws its
/// initial values from a generator of the Fit's own seed (<see cref="InitialDraws"/>), and dropout masks take their
/// seeds from a stream owned by the training run's thread; a Fit leaves torch's default generator alone.
/// </summary>
internal static class TrainingRandom
{
    private static readonly Lock Sync = new();

    [ThreadStatic]
    private static SeedStream? t_dropoutSeeds;

    /// <summary>
    /// Builds the network from a generator seeded with <paramref name="seed"/> (the values <c>torch.manual_seed(seed)</c>
    /// then building would give), without touching torch's default generator.
    /// </summary>
    public static LmuNetwork NewNetwork(LmuNetworkOptions options, int seed)
    {
        // unchecked: manual_seed's conversion of a negative seed to libtorch's unsigned one.
        using var generator = new torch.Generator(unchecked((ulong)(long)seed));
        using (InitialDraws.Use(generator))
        {
            return new LmuNetwork(options);
        }
    }

    /// <summary>Seeds torch's default generator (<see cref="LmuTrainer"/>'s documented Seed, for networks built by its callers).</summary>
    public static void Seed(int seed)
    {
        lock (Sync)
        {
            torch.manual_seed(seed);
        }
    }

    /// <summary>
    /// Until the result is disposed, dropout masks drawn on this thread take their seeds from a stream of
    /// <paramref name="seed"/> alone (training runs its forward passes on the calling thread); null draws them from
    /// torch's default generator, so an unseeded run inside a seeded one (a progress callback) leaves its stream alone.
    /// </summary>
    public static IDisposable UseDropoutSeeds(int? seed)
    {
        var previous = t_dropoutSeeds;
        t_dropoutSeeds = seed is int s ? new SeedStream((ulong)(uint)s) : null;
        return new Restore(previous);
    }

    /// <summary>The next dropout mask seed of this thread's stream, or null when none is in use (then torch's default generator seeds it).</summary>
    public static ulong? NextDropoutSeed() => t_dropoutSeeds?.Next();

    /// <summary>SplitMix64 (Steele, Lea and Flood 2014): each output a well-mixed 64-bit seed.</summary>
    private sealed class SeedStream(ulong state)
    {
        public ulong Next()
        {
            var z = state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    private sealed class Restore(SeedStream? previous) : IDisposable
    {
        public void Dispose() => t_dropoutSeeds = previous;
    }
}
