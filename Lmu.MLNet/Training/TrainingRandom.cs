using Lmu.MLNet.Modules;
using TorchSharp;

namespace Lmu.MLNet.Training;

/// <summary>
/// Seeded randomness that Fits running at the same time do not share. torch's default generator is one per process:
/// two concurrent Fits with the same seed each reseeded it and then drew their initial weights and dropout masks from
/// it in turn, so neither reproduced the solo Fit (found by QA). Now a network is built under a lock, right after the
/// generator is seeded, and dropout masks take their seeds from a stream owned by the training run's thread.
/// </summary>
internal static class TrainingRandom
{
    private static readonly Lock Sync = new();

    [ThreadStatic]
    private static SeedStream? t_dropoutSeeds;

    /// <summary>Seeds torch's default generator with <paramref name="seed"/> and builds the network from it, with no other Fit drawing in between.</summary>
    public static LmuNetwork NewNetwork(LmuNetworkOptions options, int seed)
    {
        lock (Sync)
        {
            torch.manual_seed(seed);
            return new LmuNetwork(options);
        }
    }

    /// <summary>Seeds torch's default generator (for callers that built their network themselves).</summary>
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
