using Lmu.MLNet.Scoring;

namespace Lmu.MLNet.Tests.MLNet.Scoring;

/// <summary>The guard's counting alone: release once, and only after the last running call.</summary>
[TestClass]
public sealed class ScoringGuardTests
{
    [TestMethod]
    public void CloseDuringACallReleasesWhenTheCallReturnsAndRefusesNewCalls()
    {
        var native = new CountingDisposable();
        var guard = new ScoringGuard(native, "m");
        var outer = guard.Enter();
        var nested = guard.Enter();
        guard.Close();
        Assert.AreEqual(0, native.Disposals, "released under a running call");
        var e = Assert.Throws<ObjectDisposedException>(() => guard.Enter());
        StringAssert.Contains(e.Message, "OwnsTransformer = false");
        Assert.DoesNotContain("streaming engines", e.Message, "review: only a forecaster makes them");
        nested.Dispose();
        Assert.AreEqual(0, native.Disposals, "released while the outer call still runs");
        outer.Dispose();
        Assert.AreEqual(1, native.Disposals);
        guard.Close();
        Assert.AreEqual(1, native.Disposals, "a second Close releases nothing more");
    }

    [TestMethod]
    public void CloseWithoutCallsReleasesAtOnce()
    {
        var native = new CountingDisposable();
        var guard = new ScoringGuard(native, "m");
        using (guard.Enter())
        {
        }

        Assert.AreEqual(0, native.Disposals);
        guard.Close();
        Assert.AreEqual(1, native.Disposals);
        Assert.IsTrue(guard.Released);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public void UnderContentionTheNativePartIsReleasedExactlyOnceAndNeverDuringACall()
    {
        for (var round = 0; round < 200; round++)
        {
            var native = new CountingDisposable();
            var guard = new ScoringGuard(native, "m");
            var inside = 0;
            var violations = 0;
            native.OnDispose = () => violations += Volatile.Read(ref inside);
            using var start = new Barrier(5);
            var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
            {
                start.SignalAndWait();
                while (true)
                {
                    try
                    {
                        using var entry = guard.Enter();
                        Interlocked.Increment(ref inside);
                        Thread.SpinWait(20);
                        Interlocked.Decrement(ref inside);
                    }
                    catch (ObjectDisposedException)
                    {
                        return;
                    }
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            start.SignalAndWait();
            Thread.SpinWait(round * 50);
            guard.Close();
            threads.ForEach(t => t.Join());
            Assert.AreEqual(1, native.Disposals, $"round {round}");
            Assert.AreEqual(0, violations, $"round {round}: released while a call was inside");
            Assert.AreEqual(0, guard.Active);
        }
    }

    private sealed class CountingDisposable : IDisposable
    {
        private int _disposals;

        public int Disposals => Volatile.Read(ref _disposals);

        public Action? OnDispose { get; set; }

        public void Dispose()
        {
            OnDispose?.Invoke();
            Interlocked.Increment(ref _disposals);
        }
    }
}
