namespace Lmu.MLNet.Orleans.Tests;

[TestClass]
public sealed class ForecastModelCacheTests
{
    private static ForecastModelCache Cache(out Func<int> loads, TimeProvider? time = null, Action<ForecastFleetOptions>? configure = null)
    {
        var options = new ForecastFleetOptions { CurrentVersion = 1 };
        options.ModelPaths[1] = FleetModels.PathA;
        options.ModelPaths[2] = FleetModels.PathB;
        configure?.Invoke(options);
        var count = 0;
        var cache = new ForecastModelCache(options, path =>
        {
            Interlocked.Increment(ref count);
            return LmuForecastEngineModel.Load(path);
        }, time);
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
    public void AnOldVersionStaysLoadedWhileAGrainHoldsIt_AndForTheRetentionTimeAfterTheLastLease()
    {
        var time = new ManualTime();
        var cache = Cache(out var loads, time);
        var held = cache.Acquire(1);
        var other = cache.Acquire(1);
        cache.SetCurrentVersion(2);
        Assert.AreEqual(2, loads(), "version 2 is loaded to be made current");
        other.Dispose();
        other.Dispose(); // a second dispose releases nothing more
        time.Now += TimeSpan.FromHours(1);
        using (var fresh = cache.Acquire(1))
        {
            Assert.AreSame(held.Model, fresh.Model, "still the loaded model, not a second load");
        }

        CollectionAssert.AreEqual(new[] { 1, 2 }, cache.LoadedVersions.ToArray(), "held, so kept an hour on, past the retention time");
        Assert.AreEqual(2, loads());
        using var current = cache.Acquire(2);
        held.Dispose();
        CollectionAssert.AreEqual(new[] { 1, 2 }, cache.LoadedVersions.ToArray(), "released by its last holder, kept for the retention time");

        // Series stored on version 1 resume on it one after another after the rollout (QA: each loaded it again, 301
        // loads for 300 idle series): one load within the retention time.
        for (var series = 0; series < 300; series++)
        {
            time.Now += TimeSpan.FromSeconds(1);
            cache.Acquire(1).Dispose();
        }

        Assert.AreEqual(2, loads(), "version 1 loaded once, version 2 once");
        time.Now += TimeSpan.FromMinutes(10) - TimeSpan.FromTicks(1);
        cache.Acquire(2).Dispose();
        CollectionAssert.AreEqual(new[] { 1, 2 }, cache.LoadedVersions.ToArray(), "a tick before the 10 minutes' end");
        time.Now += TimeSpan.FromTicks(1);
        cache.Acquire(2).Dispose();
        CollectionAssert.AreEqual(new[] { 2 }, cache.LoadedVersions.ToArray(), "dropped at the first use of the cache after 10 minutes unused");
    }

    [TestMethod]
    public void WithNoRetentionAnOldVersionGoesWithItsLastLease()
    {
        var cache = Cache(out var loads, configure: o => o.UnusedVersionRetention = TimeSpan.Zero);
        var held = cache.Acquire(1);
        cache.SetCurrentVersion(2);
        held.Dispose();
        CollectionAssert.AreEqual(new[] { 2 }, cache.LoadedVersions.ToArray());
        cache.Acquire(1).Dispose();
        Assert.AreEqual(3, loads(), "1, 2, then 1 again");
        Assert.ThrowsExactly<ArgumentException>(() => Cache(out _, configure: o => o.UnusedVersionRetention = TimeSpan.FromSeconds(-1)));
    }

    [TestMethod]
    public void AVersionWhoseFileIsMissingOrDamagedIsNotMadeCurrent()
    {
        // QA: SetCurrentVersion accepted the version unread; every reading of the silo then failed, with no way back.
        var folder = Directory.CreateTempSubdirectory("lmu-cache-test-").FullName;
        try
        {
            var damaged = Path.Combine(folder, "damaged.engine");
            var bytes = File.ReadAllBytes(FleetModels.PathB);
            bytes[^1] ^= 1;
            File.WriteAllBytes(damaged, bytes);
            var cache = Cache(out _, configure: o =>
            {
                o.ModelPaths[3] = Path.Combine(folder, "missing.engine");
                o.ModelPaths[4] = damaged;
            });
            Assert.ThrowsExactly<FileNotFoundException>(() => cache.SetCurrentVersion(3));
            var e = Assert.ThrowsExactly<InvalidDataException>(() => cache.SetCurrentVersion(4));
            StringAssert.Contains(e.Message, "damaged.engine");
            Assert.AreEqual(1, cache.CurrentVersion, "unchanged");
            CollectionAssert.AreEqual(Array.Empty<int>(), cache.LoadedVersions.ToArray(), "nothing loaded is kept of a failed load");

            // The file put back, the same version loads.
            File.Copy(FleetModels.PathB, Path.Combine(folder, "missing.engine"));
            cache.SetCurrentVersion(3);
            Assert.AreEqual(3, cache.CurrentVersion);
            using var lease = cache.Acquire(3);
            Assert.AreEqual(FleetModels.B.Fingerprint, lease.Model.Fingerprint);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [TestMethod]
    public void VersionsAreCheckedAndOnlyMoveForward()
    {
        var cache = Cache(out _);
        // A series' version the silo does not list is the silo's configuration, not a bad reading (QA: ArgumentException).
        var missing = Assert.ThrowsExactly<InvalidOperationException>(() => cache.Acquire(3));
        StringAssert.Contains(missing.Message, "Model version 3 has no model file on this silo; it lists 1, 2.");
        Assert.ThrowsExactly<ArgumentException>(() => cache.SetCurrentVersion(3));
        cache.SetCurrentVersion(2);
        var e = Assert.ThrowsExactly<ArgumentException>(() => cache.SetCurrentVersion(1));
        StringAssert.Contains(e.Message, "only move forward");
        var options = new ForecastFleetOptions { CurrentVersion = 4 };
        options.ModelPaths[1] = FleetModels.PathA;
        Assert.ThrowsExactly<ArgumentException>(() => new ForecastModelCache(options, LmuForecastEngineModel.Load));
    }

    private sealed class ManualTime : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
