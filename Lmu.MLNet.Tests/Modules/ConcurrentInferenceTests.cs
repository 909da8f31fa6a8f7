using Lmu.MLNet.Modules;
using TorchSharp;
using static Lmu.MLNet.Tests.Modules.LayerTestHelpers;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Modules;

/// <summary>
/// One layer serving several threads at once, each with sequences of lengths no thread has used before, so the fixed
/// dynamics' caches (impulse responses, spectra, block powers) are filled by concurrent callers. Every output must
/// equal the one a second layer with the same weights computes on one thread (float64, 1e-12: the same operations in
/// the same order). Unguarded, concurrent fills of those caches corrupt them or hand a thread a tensor another thread
/// then replaces.
/// </summary>
[TestClass]
public sealed class ConcurrentInferenceTests
{
    [TestMethod]
    [DataRow(HiddenCell.SimpleRnn, DisplayName = "SimpleRnn over a feed-forward memory")]
    [DataRow(HiddenCell.None, DisplayName = "memory only")]
    public void ThreadsFillingTheCachesTogetherGetTheSingleThreadOutputs(HiddenCell cell)
    {
        var o = new LmuLayerOptions
        {
            InputSize = 1, MemoryD = 1, Order = 8, Theta = 20, HiddenCell = cell, HiddenUnits = 5, InputToHidden = true,
        };
        using var shared = new LmuLayer(o);
        shared.to(float64);
        Randomise(shared, seed: 61);
        shared.eval();
        using var alone = CloneWith(shared, _ => { });
        alone.eval();

        const int threads = 4, lengthsPerThread = 12;
        var inputs = Enumerable.Range(0, threads * lengthsPerThread)
            .Select(i => torch.randn([3, 20 + i, 1], dtype: float64, generator: new torch.Generator((ulong)(62 + i))).DetachFromDisposeScope())
            .ToArray();
        var errors = new System.Collections.Concurrent.ConcurrentBag<string>();
        try
        {
            using var start = new Barrier(threads);
            var workers = Enumerable.Range(0, threads).Select(w => new Thread(() =>
            {
                start.SignalAndWait();
                for (int i = 0; i < lengthsPerThread; i++)
                {
                    var x = inputs[(i * threads) + w];   // neighbouring lengths on different threads at the same time
                    try
                    {
                        using var scope = NewDisposeScope();
                        using var _ = torch.no_grad();
                        var y = shared.ForwardLast(x);
                        var expected = Expected(alone, x);
                        double diff = MaxAbsDiff(y, expected);
                        if (!(diff < 1e-12)) errors.Add($"T {x.shape[1]}: off by {diff}");
                    }
                    catch (Exception e)
                    {
                        errors.Add($"T {x.shape[1]}: {e.GetType().Name}: {e.Message}");
                    }
                }
            })).ToList();
            workers.ForEach(t => t.Start());
            workers.ForEach(t => t.Join());
        }
        finally
        {
            foreach (var t in inputs) t.Dispose();
        }
        Assert.IsEmpty(errors, string.Join("; ", errors.Take(3)));
    }

    // The second layer is only ever called by one thread at a time.
    private static readonly object AloneGate = new();

    private static Tensor Expected(LmuLayer alone, Tensor x)
    {
        lock (AloneGate) return alone.ForwardLast(x);
    }
}
