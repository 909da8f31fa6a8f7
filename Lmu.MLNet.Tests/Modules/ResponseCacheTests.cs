using Lmu.MLNet.Modules;
using Lmu.MLNet.Tests.Infrastructure;
using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Modules;

/// <summary>
/// The fixed dynamics keep impulse responses per sequence length within a byte budget (they grew without bound: 144 ->
/// 916 MB of RSS over 1,200 lengths; found by QA), and what a caller was handed stays valid when another thread evicts
/// it (callers own aliases of the cached storage).
/// </summary>
[TestClass]
public sealed class ResponseCacheTests
{
    // A budget of 1 MiB (the library's is 64 MiB) so that a few hundred short lengths overflow it.
    private const long Budget = 1L << 20;

    private static LmuLayer FeedForward()
    {
        var layer = new LmuLayer(new LmuLayerOptions { Order = 32, Theta = 100, HiddenCell = HiddenCell.Dense, HiddenUnits = 8, InputSize = 2 });
        layer.Dynamics.ResponseCacheBudget = Budget;
        return layer;
    }

    [TestMethod]
    public void ManyLengthsKeepTheCacheWithinItsBudgetAndAnEvictedLengthGivesTheSameOutput()
    {
        using var layer = FeedForward();
        using var scope = NewDisposeScope();
        var x = torch.randn(2, 400, 2, generator: new torch.Generator(5));
        var first = layer.forward(x.narrow(1, 0, 37)).clone();
        for (var t = 1; t <= 400; t++)
        {
            using var step = NewDisposeScope();
            layer.forward(x.narrow(1, 0, t));
            Bound.AtMost(Budget, layer.Dynamics.CachedResponseBytes, $"after T = {t}");
        }

        Assert.IsGreaterThan(0L, layer.Dynamics.ResponseEvictions, "400 lengths at order 32 exceed the budget");
        CollectionAssert.AreEqual(first.data<float>().ToArray(), layer.forward(x.narrow(1, 0, 37)).data<float>().ToArray(), "T = 37 recomputed after its eviction");
    }

    [TestMethod]
    public void AResponseHandedOutStaysValidAfterItsEntryIsEvicted()
    {
        using var layer = FeedForward();
        using var held = layer.Dynamics.ImpulseResponse(300, float32, torch.CPU);
        using var copy = held.clone();
        var evicted = layer.Dynamics.ResponseEvictions;
        for (var t = 301; t <= 500; t++)
        {
            using var other = layer.Dynamics.ImpulseResponse(t, float32, torch.CPU);
        }

        Assert.IsGreaterThan(evicted + 10, layer.Dynamics.ResponseEvictions, "T = 300 and many after it were evicted");
        CollectionAssert.AreEqual(copy.data<float>().ToArray(), held.data<float>().ToArray(), "the caller's alias still reads the evicted response");
    }

    [TestMethod]
    [Timeout(120_000, CooperativeCancellation = true)]
    public void ThreadsThatEvictEachOthersLengthsStillGetTheirOwnResults()
    {
        using var layer = FeedForward();
        layer.eval();
        var lengths = Enumerable.Range(0, 60).Select(i => 150 + (i * 5)).ToArray();
        using var x = torch.randn(2, lengths.Max(), 2, generator: new torch.Generator(9));
        var expected = new Dictionary<int, float[]>();
        using (torch.no_grad())
        {
            foreach (var t in lengths)
            {
                using var s = NewDisposeScope();
                expected[t] = layer.ForwardLast(x.narrow(1, 0, t)).data<float>().ToArray();
            }
        }

        var evictedBefore = layer.Dynamics.ResponseEvictions;
        var mismatches = 0;
        var threads = Enumerable.Range(0, 4).Select(k => new Thread(() =>
        {
            using var noGrad = torch.no_grad();
            var rng = new Random(k);
            for (var i = 0; i < 150; i++)
            {
                var t = lengths[rng.Next(lengths.Length)];
                using var s = NewDisposeScope();
                if (!layer.ForwardLast(x.narrow(1, 0, t)).data<float>().ToArray().SequenceEqual(expected[t]))
                {
                    Interlocked.Increment(ref mismatches);
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.AreEqual(0, mismatches);
        Assert.IsGreaterThan(evictedBefore, layer.Dynamics.ResponseEvictions, "the threads evicted lengths the others were using");
    }
}
