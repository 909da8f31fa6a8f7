using Lmu.MLNet.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Modules;

/// <summary>
/// The cache of values derived from weights (<see cref="DerivedWeights{T}"/>): a stale value is let go before its
/// replacement is built, so the two are not held at once, yet never while a caller still reads it.
/// </summary>
[TestClass]
public sealed class DerivedWeightsTests
{
    private sealed class Value : IDisposable
    {
        public bool Disposed { get; private set; }

        public void Dispose() => Disposed = true;
    }

    [TestMethod]
    public void AStaleValueNobodyReadsIsDisposedBeforeItsReplacementIsBuilt()
    {
        using var cache = new DerivedWeights<Value>();
        using var weight = torch.ones(3);
        var first = new Value();
        using (var lease = cache.Acquire("k", [weight], () => first)) Assert.AreSame(first, lease.Value);
        Assert.IsFalse(first.Disposed, "the cache keeps its value between calls");

        using (torch.no_grad()) weight.add_(weight);
        bool firstDisposedWhenBuilding = false;
        var second = new Value();
        using (var lease = cache.Acquire("k", [weight], () =>
        {
            firstDisposedWhenBuilding = first.Disposed;
            return second;
        }))
        {
            Assert.AreSame(second, lease.Value);
        }

        Assert.IsTrue(firstDisposedWhenBuilding, "the stale value was still held while its replacement was built");
        Assert.AreEqual(2, cache.Builds);
    }

    [TestMethod]
    public void AStaleValueACallerStillReadsOutlivesTheRebuild()
    {
        using var cache = new DerivedWeights<Value>();
        using var weight = torch.ones(3);
        var first = new Value();
        var reader = cache.Acquire("k", [weight], () => first);
        using (torch.no_grad()) weight.add_(weight);
        var second = new Value();
        using (var lease = cache.Acquire("k", [weight], () => second)) Assert.AreSame(second, lease.Value);
        Assert.IsFalse(first.Disposed, "disposed under a caller that still reads it");
        reader.Dispose();
        Assert.IsTrue(first.Disposed, "the last lease disposes the replaced value");
        Assert.IsFalse(second.Disposed, "the current value stays kept");
    }

    [TestMethod]
    public void AFailedBuildLeavesNothingStaleToServe()
    {
        using var cache = new DerivedWeights<Value>();
        using var weight = torch.ones(3);
        var first = new Value();
        using (cache.Acquire("k", [weight], () => first)) { }
        using (torch.no_grad()) weight.add_(weight);
        Assert.ThrowsExactly<InvalidOperationException>(() => cache.Acquire("k", [weight], () => throw new InvalidOperationException("build failed")));
        Assert.IsTrue(first.Disposed, "the stale value is gone");
        var second = new Value();
        using var lease = cache.Acquire("k", [weight], () => second);
        Assert.AreSame(second, lease.Value, "the next call builds again for the current weights");
    }

    [TestMethod]
    [DataRow(false, DisplayName = "contiguous source (compared bytewise)")]
    [DataRow(true, DisplayName = "transposed source (compared by torch.equal)")]
    public void OneChangedElementAnywhereRebuilds(bool transposed)
    {
        using var cache = new DerivedWeights<Value>();
        using var weight = torch.randn([300, 70], dtype: float64, generator: new torch.Generator(7));
        using var source = transposed ? weight.t() : weight.alias();
        Assert.AreEqual(!transposed, source.is_contiguous());
        using (cache.Acquire("k", [source], () => new Value())) { }
        using (cache.Acquire("k", [source], () => new Value())) { }
        Assert.AreEqual(1, cache.Builds, "the same values reuse the value");
        using var tiny = 1e-9.ToScalar();
        foreach (var (row, col) in new[] { (0, 0), (150, 33), (299, 69) })
        {
            long builds = cache.Builds;
            using (torch.no_grad())
            using (var element = weight[row, col])
            {
                element.add_(tiny);
            }

            using (cache.Acquire("k", [source], () => new Value())) { }
            Assert.AreEqual(builds + 1, cache.Builds, $"a change at [{row}, {col}] was not seen");
        }
    }

    [TestMethod]
    public void ARebuildGetsTheStaleValueNobodyReads()
    {
        using var cache = new DerivedWeights<Value>();
        using var weight = torch.ones(3);
        var first = new Value();
        using (cache.Acquire("k", [weight], stale => first)) { }
        using (torch.no_grad()) weight.add_(weight);
        Value? handed = null;
        using (var lease = cache.Acquire("k", [weight], stale =>
        {
            handed = stale;
            return stale ?? new Value();
        }))
        {
            Assert.AreSame(first, handed, "the stale value goes to the rebuild");
            Assert.AreSame(first, lease.Value, "refilled and returned, it is the new value");
        }

        Assert.IsFalse(first.Disposed, "a refilled value is kept, not disposed");
        Assert.AreEqual(2, cache.Builds);
    }

    [TestMethod]
    public void ARebuildGetsNothingWhileACallerReadsTheStaleValue()
    {
        using var cache = new DerivedWeights<Value>();
        using var weight = torch.ones(3);
        var first = new Value();
        var reader = cache.Acquire("k", [weight], stale => first);
        using (torch.no_grad()) weight.add_(weight);
        Value? handed = new Value();
        using (cache.Acquire("k", [weight], stale =>
        {
            handed = stale;
            return new Value();
        }))
        {
        }

        Assert.IsNull(handed, "a value a caller still reads is not handed to the rebuild");
        Assert.IsFalse(first.Disposed, "nor disposed under that caller");
        reader.Dispose();
        Assert.IsTrue(first.Disposed, "its last lease disposes it");
    }

    [TestMethod]
    public void AFailedRebuildDisposesTheStaleValue()
    {
        using var cache = new DerivedWeights<Value>();
        using var weight = torch.ones(3);
        var first = new Value();
        using (cache.Acquire("k", [weight], stale => first)) { }
        using (torch.no_grad()) weight.add_(weight);
        Assert.ThrowsExactly<InvalidOperationException>(() => cache.Acquire("k", [weight], stale => throw new InvalidOperationException("refill failed")));
        Assert.IsTrue(first.Disposed, "the stale value handed to a failed rebuild is disposed");
        using var lease = cache.Acquire("k", [weight], stale => stale ?? new Value());
        Assert.AreNotSame(first, lease.Value, "nothing stale is served or handed on after the failure");
    }
}
