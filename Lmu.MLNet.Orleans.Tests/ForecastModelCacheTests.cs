namespace Lmu.MLNet.Orleans.Tests;

[TestClass]
public sealed class ForecastModelCacheTests
{
    private static ForecastModelCache Cache(out Func<int> loads)
    {
        var options = new ForecastFleetOptions { CurrentVersion = 1 };
        options.ModelPaths[1] = FleetModels.PathA;
        options.ModelPaths[2] = FleetModels.PathB;
        var count = 0;
        var cache = new ForecastModelCache(options, path =>
        {
            Interlocked.Increment(ref count);
            return LmuForecastEngineModel.Load(path);
        });
        loads = () => count;
        return cache;
    }

    [TestMethod]
    public void OneModelPerVersion_SharedByEveryLease_EvenUnderConcurrentFirstUse()
    {
        var cache = Cache(out var loads);
        var leases = new ModelLease[64];
        Parallel.For(0, leases.Length, i => leases[i] = cache.Acquire(1));
        Assert.AreEqual(1, loads());
        Assert.IsTrue(leases.All(l => ReferenceEquals(l.Model, leases[0].Model)));
        Assert.AreEqual(FleetModels.A.Fingerprint, leases[0].Model.Fingerprint);
        foreach (var l in leases)
        {
            l.Dispose();
        }

        // The current version stays loaded with no lease.
        CollectionAssert.AreEqual(new[] { 1 }, cache.LoadedVersions.ToArray());
    }

    [TestMethod]
    public void AnOldVersionStaysLoadedWhileAGrainHoldsIt_AndGoesWithTheLastLease()
    {
        var cache = Cache(out var loads);
        var held = cache.Acquire(1);
        var other = cache.Acquire(1);
        cache.SetCurrentVersion(2);
        other.Dispose();
        other.Dispose(); // a second dispose releases nothing more
        using (var fresh = cache.Acquire(1))
        {
            Assert.AreSame(held.Model, fresh.Model, "still the loaded model, not a second load");
        }

        CollectionAssert.AreEqual(new[] { 1 }, cache.LoadedVersions.ToArray(), "held, so kept (version 2 not used yet)");
        Assert.AreEqual(1, loads());
        using var current = cache.Acquire(2);
        held.Dispose();
        CollectionAssert.AreEqual(new[] { 2 }, cache.LoadedVersions.ToArray(), "released by its last holder, so dropped");
    }

    [TestMethod]
    public void VersionsAreCheckedAndOnlyMoveForward()
    {
        var cache = Cache(out _);
        Assert.ThrowsExactly<ArgumentException>(() => cache.Acquire(3));
        Assert.ThrowsExactly<ArgumentException>(() => cache.SetCurrentVersion(3));
        cache.SetCurrentVersion(2);
        var e = Assert.ThrowsExactly<ArgumentException>(() => cache.SetCurrentVersion(1));
        StringAssert.Contains(e.Message, "only move forward");
        var options = new ForecastFleetOptions { CurrentVersion = 4 };
        options.ModelPaths[1] = FleetModels.PathA;
        Assert.ThrowsExactly<ArgumentException>(() => new ForecastModelCache(options, LmuForecastEngineModel.Load));
    }
}
