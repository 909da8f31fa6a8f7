namespace Lmu.MLNet.Orleans.Tests;

[TestClass]
public sealed class SeriesForecastGrainTests
{
    private const int Series = 12;

    [TestInitialize]
    public void ClearStorage() => SharedGrainStorage.Clear();

    [TestMethod]
    public async Task ALookupOfASeriesNeverObservedLeavesNoActivation()
    {
        // Found by QA: each GET of an unknown id kept a grain for the idle collection's 15 minutes (about 2.7 KB each).
        var cluster = await FleetCluster.StartAsync(1, new() { [1] = FleetModels.PathA });
        try
        {
            await cluster.Client.GetGrain<ISeriesForecastGrain>("observed").ObserveAsync(FleetModels.Reading(0, 1));
            for (var i = 0; i < 50; i++)
            {
                var result = await cluster.Client.GetGrain<ISeriesForecastGrain>($"unknown-{i}").GetForecastAsync();
                Assert.AreEqual(0L, result.ObservationCount);
                // A gap as the first reading of an unknown id stores nothing either (serve QA: 20,000 such ids, +50 MB).
                var gap = await cluster.Client.GetGrain<ISeriesForecastGrain>($"gap-{i}").ObserveAsync(FleetModels.Reading(0, 5));
                Assert.AreEqual(ObservationOutcome.Gap, gap.Outcome);
            }

            // Deactivation is asynchronous: polled for up to 30 s (5 s was close on a loaded 2-core machine, QA), so a
            // grain kept for the idle collection's 15 minutes still fails.
            var placement = await FleetCluster.PlacementAsync(cluster);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (placement.Count > 1 && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(100);
                placement = await FleetCluster.PlacementAsync(cluster);
            }

            CollectionAssert.AreEqual(new[] { "observed" }, placement.Keys.ToArray(), "only the observed series stays active");
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    [TestMethod]
    public async Task AForgottenSeriesLeavesStorageAndStartsAnewOnlyAtTheNumberSeen()
    {
        // QA: a store that kept every series ever seen grew until the process died; ForgetAsync removes a series, and
        // with a number only while the series still stands there (a sweep cannot remove readings it has not seen).
        var cluster = await FleetCluster.StartAsync(1, new() { [1] = FleetModels.PathA });
        try
        {
            var grain = cluster.Client.GetGrain<ISeriesForecastGrain>("quiet");
            await grain.ObserveBatchAsync([FleetModels.Reading(0, 1), FleetModels.Reading(0, 2), FleetModels.Reading(0, 3)]);
            Assert.AreEqual(1, SharedGrainStorage.Count);
            Assert.IsFalse(await grain.ForgetAsync(2), "the series stands at 3, not 2");
            Assert.AreEqual(3L, (await grain.GetForecastAsync()).LastSequence);
            Assert.IsTrue(await grain.ForgetAsync(3));
            Assert.AreEqual(0, SharedGrainStorage.Count, "the record is gone");
            var after = await grain.GetForecastAsync();
            Assert.AreEqual((0L, 0L), (after.LastSequence, after.ObservationCount));
            Assert.AreEqual(ObservationOutcome.Gap, (await grain.ObserveAsync(FleetModels.Reading(0, 4))).Outcome, "the numbering starts anew");
            Assert.AreEqual(0, SharedGrainStorage.Count, "a gap stores nothing");

            // Started anew, it forecasts as a fresh engine given the same readings.
            var engine = new LmuForecastEngine(FleetModels.A);
            SeriesForecastResult last = null!;
            for (var n = 1; n <= 12; n++)
            {
                var reading = FleetModels.Reading(0, n);
                engine.Observe(reading.Value, reading.Covariates);
                last = await grain.ObserveAsync(reading);
            }

            CollectionAssert.AreEqual(engine.Current!.Forecast, last.Forecast);
            Assert.IsTrue(await grain.ForgetAsync(null), "null removes whatever is stored");
            Assert.IsFalse(await grain.ForgetAsync(null), "nothing left");
            Assert.IsFalse(await cluster.Client.GetGrain<ISeriesForecastGrain>("never-seen").ForgetAsync(null));
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    [TestMethod]
    public async Task GrainForecastsEqualTheInProcessEngineBitForBit_OnThreeSilos()
    {
        var cluster = await FleetCluster.StartAsync(3, new() { [1] = FleetModels.PathA });
        try
        {
            var engines = Enumerable.Range(0, Series).Select(_ => new LmuForecastEngine(FleetModels.A)).ToArray();
            for (var n = 1; n <= 30; n++)
            {
                // Series interleaved and concurrent, as a fleet's readings arrive.
                var results = await Task.WhenAll(Enumerable.Range(0, Series).Select(s =>
                    cluster.Client.GetGrain<ISeriesForecastGrain>($"s{s}").ObserveAsync(FleetModels.Reading(s, n))));
                for (var s = 0; s < Series; s++)
                {
                    var reading = FleetModels.Reading(s, n);
                    var expected = engines[s].Observe(reading.Value, reading.Covariates);
                    Assert.AreEqual(ObservationOutcome.Applied, results[s].Outcome);
                    Assert.AreEqual(n, results[s].LastSequence);
                    Assert.AreEqual(n >= FleetModels.A.WindowSize, results[s].Forecast is not null, $"ready after {n}");
                    Bits.AreEqual(expected, results[s], $"series {s} after {n}");
                }
            }

            var placement = await FleetCluster.PlacementAsync(cluster);
            Assert.AreEqual(Series, placement.Count, "every series is active");
            Assert.IsTrue(placement.Values.Distinct().Count() >= 2, $"series spread over silos: {placement.Values.Distinct().Count()}");

            // One model per silo, shared by its grains: each silo loaded version 1 once at most.
            foreach (var silo in cluster.Silos)
            {
                Assert.IsTrue(FleetCluster.Models(silo).Loads <= 1, $"{silo.Name} loaded the model {FleetCluster.Models(silo).Loads} times");
            }

            // A resend changes nothing; a gap is refused; a bad value is refused before anything is applied.
            var grain = cluster.Client.GetGrain<ISeriesForecastGrain>("s0");
            var before = await grain.GetForecastAsync();
            var resent = await grain.ObserveAsync(FleetModels.Reading(0, 30));
            Assert.AreEqual(ObservationOutcome.Duplicate, resent.Outcome);
            Assert.AreEqual(30, resent.LastSequence);
            Bits.AreEqual(before.Forecast, resent.Forecast, "resend");
            var gap = await grain.ObserveAsync(FleetModels.Reading(0, 32));
            Assert.AreEqual(ObservationOutcome.Gap, gap.Outcome);
            Assert.AreEqual(30, gap.LastSequence);
            await Assert.ThrowsExactlyAsync<ArgumentException>(() => grain.ObserveBatchAsync([FleetModels.Reading(0, 31), new SeriesObservation(32, float.NaN, [1])]));
            Assert.AreEqual(30, (await grain.GetForecastAsync()).LastSequence, "a refused batch applies nothing");

            // Numbers start at 1: a 0 or a negative one was skipped as a resend, silently, on a new series too (found by QA).
            var fresh = cluster.Client.GetGrain<ISeriesForecastGrain>("counts-from-zero");
            foreach (var n in new long[] { 0, -3 })
            {
                var refused = await Assert.ThrowsExactlyAsync<ArgumentException>(() => fresh.ObserveAsync(new SeriesObservation(n, 1, FleetModels.Reading(0, 1).Covariates)));
                StringAssert.Contains(refused.Message, $"reading number {n}; sequence numbers start at 1");
            }

            Assert.AreEqual(0, (await fresh.GetForecastAsync()).ObservationCount);

            // A batch with a resent head applies the new readings once, with one storage write.
            var writes = SharedGrainStorage.Writes;
            var batch = await grain.ObserveBatchAsync([FleetModels.Reading(0, 29), FleetModels.Reading(0, 30), FleetModels.Reading(0, 31), FleetModels.Reading(0, 32)]);
            Assert.AreEqual(ObservationOutcome.Applied, batch.Outcome);
            Assert.AreEqual(32, batch.LastSequence);
            Assert.AreEqual(writes + 1, SharedGrainStorage.Writes);
            engines[0].Observe(FleetModels.Reading(0, 31).Value, FleetModels.Reading(0, 31).Covariates);
            Bits.AreEqual(engines[0].Observe(FleetModels.Reading(0, 32).Value, FleetModels.Reading(0, 32).Covariates), batch, "batch");
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    [TestMethod]
    public async Task AFailedStorageWrite_TheResentReadingIsAppliedExactlyOnce_WhetherOrNotTheWriteLanded()
    {
        var cluster = await FleetCluster.StartAsync(2, new() { [1] = FleetModels.PathA });
        try
        {
            var engine = new LmuForecastEngine(FleetModels.A);
            var grain = cluster.Client.GetGrain<ISeriesForecastGrain>("s3");
            async Task<SeriesForecastResult> Send(long n)
            {
                var r = await grain.ObserveAsync(FleetModels.Reading(3, n));
                Assert.AreEqual(n, r.LastSequence);
                return r;
            }

            for (var n = 1; n <= 15; n++)
            {
                Bits.AreEqual(engine.Observe(FleetModels.Reading(3, n).Value, FleetModels.Reading(3, n).Covariates), await Send(n), $"after {n}");
            }

            foreach (var (n, afterStoring) in new[] { (16L, false), (17L, true) })
            {
                // The write of reading n fails (before, or after the record was stored); the grain answers an error.
                (SharedGrainStorage.FailAfterStoring, SharedGrainStorage.FailNextWriteOf) = (afterStoring, "s3");
                await Assert.ThrowsAsync<Exception>(() => grain.ObserveAsync(FleetModels.Reading(3, n)), $"reading {n}");

                // The sender resends n: it is applied once (not lost, not twice), whichever way the write failed.
                var resent = await grain.ObserveAsync(FleetModels.Reading(3, n));
                Assert.AreEqual(afterStoring ? ObservationOutcome.Duplicate : ObservationOutcome.Applied, resent.Outcome, $"reading {n}");
                Assert.AreEqual(n, resent.LastSequence);
                Assert.AreEqual(n, resent.ObservationCount, "the engine saw each reading once");
                Bits.AreEqual(engine.Observe(FleetModels.Reading(3, n).Value, FleetModels.Reading(3, n).Covariates), resent, $"after resending {n}");
            }

            Bits.AreEqual(engine.Observe(FleetModels.Reading(3, 18).Value, FleetModels.Reading(3, 18).Covariates), await Send(18), "after 18");

            // Orleans QA: a database client's exception (no Orleans codec) reached the sender as "CodecNotFoundException:
            // Could not find a codec for type Npgsql.PostgresException", naming neither the series nor the cause. Orleans
            // wraps a provider's failure in an OrleansException of its own; inside it the series and the cause are named.
            (SharedGrainStorage.FailAfterStoring, SharedGrainStorage.FailAsDriver, SharedGrainStorage.FailNextWriteOf) = (false, true, "s3");
            var failed = Chain(await Assert.ThrowsAsync<Exception>(() => grain.ObserveAsync(FleetModels.Reading(3, 19))));
            StringAssert.Contains(failed, "InvalidOperationException: Series 's3': the grain storage failed to write its state");
            StringAssert.Contains(failed, "DriverException: 22001: value too long for type character varying(512)");
            Bits.AreEqual(engine.Observe(FleetModels.Reading(3, 19).Value, FleetModels.Reading(3, 19).Covariates), await Send(19), "after resending 19");

            // Codec-safe failures keep their types (review: wrapping them all would break callers that catch them).
            (SharedGrainStorage.FailAsConflict, SharedGrainStorage.FailNextWriteOf) = (true, "s3");
            StringAssert.Contains(Chain(await Assert.ThrowsAsync<Exception>(() => grain.ObserveAsync(FleetModels.Reading(3, 20)))), "InconsistentStateException: Injected ETag conflict");
            SharedGrainStorage.FailNextWriteOf = "s3";
            StringAssert.Contains(Chain(await Assert.ThrowsAsync<Exception>(() => grain.ObserveAsync(FleetModels.Reading(3, 20)))), "IOException: Injected storage failure before writing");
            Bits.AreEqual(engine.Observe(FleetModels.Reading(3, 20).Value, FleetModels.Reading(3, 20).Covariates), await Send(20), "after resending 20");

            // Regression QA: in a database outage 96 % of the failures came from the state read when a series is activated
            // (CodecNotFoundException again). A series whose read fails now names itself and the cause.
            SharedGrainStorage.FailNextReadOf = "read-fails";
            var unread = Chain(await Assert.ThrowsAsync<Exception>(() => cluster.Client.GetGrain<ISeriesForecastGrain>("read-fails").GetForecastAsync()));
            StringAssert.Contains(unread, "InvalidOperationException: Series 'read-fails': the grain storage failed to read its state");
            StringAssert.Contains(unread, "DriverException: 57P01: terminating connection");
            Assert.AreEqual(0, (await cluster.Client.GetGrain<ISeriesForecastGrain>("read-fails").GetForecastAsync()).LastSequence, "the next call reads again");

            // A reading with far too many covariates is refused with a message of a few values, not all of them (Orleans QA:
            // a million covariates made a 10 MB message, twelve million an answer past Orleans' limit, so a timeout).
            var crowded = await Assert.ThrowsExactlyAsync<ArgumentException>(() => grain.ObserveAsync(new SeriesObservation(21, 1, new float[100_000])));
            StringAssert.Contains(crowded.Message, "with 100000 covariate(s) [0, 0, 0, 0, 0, 0, 0, 0, ... (100000 in all)]");
            Assert.IsGreaterThan(crowded.Message.Length, 1_000, "the message stays short");

            // Numbers in invariant form whatever the silo's culture (Orleans QA: "value 5,5 with 3 covariate(s) [0,5, 1,5, 2,5]").
            var culture = System.Globalization.CultureInfo.DefaultThreadCurrentCulture;
            System.Globalization.CultureInfo.DefaultThreadCurrentCulture = System.Globalization.CultureInfo.GetCultureInfo("de-DE");
            try
            {
                var german = await Assert.ThrowsExactlyAsync<ArgumentException>(() => grain.ObserveAsync(new SeriesObservation(21, 5.5f, [0.5f, 1.5f, 2.5f])));
                StringAssert.Contains(german.Message, "value 5.5 with 3 covariate(s) [0.5, 1.5, 2.5]");
            }
            finally
            {
                System.Globalization.CultureInfo.DefaultThreadCurrentCulture = culture;
            }
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)] // killed: no graceful shutdown, the cluster finds out by missed probes
    public async Task SiloStoppedMidStream_SeriesResumeOnAnotherSiloAndStillEqualTheUninterruptedEngine(bool kill)
    {
        var cluster = await FleetCluster.StartAsync(3, new() { [1] = FleetModels.PathA });
        try
        {
            var engines = Enumerable.Range(0, Series).Select(_ => new LmuForecastEngine(FleetModels.A)).ToArray();
            async Task Feed(int from, int to)
            {
                for (var n = from; n <= to; n++)
                {
                    var results = await Task.WhenAll(Enumerable.Range(0, Series).Select(s =>
                        FleetCluster.ObserveWithRetryAsync(cluster.Client, $"s{s}", FleetModels.Reading(s, n))));
                    for (var s = 0; s < Series; s++)
                    {
                        var reading = FleetModels.Reading(s, n);
                        Assert.AreEqual(n, results[s].LastSequence, $"series {s}: reading {n} applied");
                        Bits.AreEqual(engines[s].Observe(reading.Value, reading.Covariates), results[s], $"series {s} after {n}");
                    }
                }
            }

            await Feed(1, 20);
            var before = await FleetCluster.PlacementAsync(cluster);
            var victim = cluster.SecondarySilos.OrderByDescending(s => before.Values.Count(a => a.Equals(s.SiloAddress))).First();
            var moved = before.Where(p => p.Value.Equals(victim.SiloAddress)).Select(p => p.Key).ToArray();
            Assert.IsTrue(moved.Length > 0, "the stopped silo held series");

            if (kill)
            {
                await cluster.KillSiloAsync(victim);
            }
            else
            {
                await cluster.StopSiloAsync(victim);
            }

            await Feed(21, 40);

            var after = await FleetCluster.PlacementAsync(cluster);
            foreach (var series in moved)
            {
                Assert.IsTrue(after.TryGetValue(series, out var silo) && !silo.Equals(victim.SiloAddress), $"{series} resumed on another silo");
            }
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    [TestMethod]
    public async Task ModelRollout_SwitchesOnNextReadingRewarmedAndNeverAppliesTheOldCheckpointToTheNewModel()
    {
        const int before = 20, after = 10;
        // No retention, so a version stays loaded only while a grain holds it (checked at the end).
        var cluster = await FleetCluster.StartAsync(2, new() { [1] = FleetModels.PathA, [2] = FleetModels.PathB }, retention: TimeSpan.Zero);
        try
        {
            var histories = Enumerable.Range(0, Series).Select(_ => new List<SeriesObservation>()).ToArray();
            for (var n = 1; n <= before; n++)
            {
                var results = await Task.WhenAll(Enumerable.Range(0, Series).Select(s =>
                    cluster.Client.GetGrain<ISeriesForecastGrain>($"s{s}").ObserveAsync(FleetModels.Reading(s, n))));
                Assert.IsTrue(results.All(r => r.ModelVersion == 1 && r.ModelFingerprint == FleetModels.A.Fingerprint));
            }

            foreach (var silo in cluster.Silos)
            {
                FleetCluster.Models(silo).SetCurrentVersion(2);
                Assert.ThrowsExactly<ArgumentException>(() => FleetCluster.Models(silo).SetCurrentVersion(1), "versions only move forward");
            }

            // A read does not switch: the forecast is still version 1's.
            Assert.AreEqual(1, (await cluster.Client.GetGrain<ISeriesForecastGrain>("s0").GetForecastAsync()).ModelVersion);

            // The reference: a fresh version-2 engine fed the last window of readings before the switch, then the new ones.
            var engines = Enumerable.Range(0, Series).Select(s =>
            {
                var e = new LmuForecastEngine(FleetModels.B);
                for (var n = before - FleetModels.B.WindowSize + 1; n <= before; n++)
                {
                    e.Observe(FleetModels.Reading(s, n).Value, FleetModels.Reading(s, n).Covariates);
                }

                return e;
            }).ToArray();
            for (var n = before + 1; n <= before + after; n++)
            {
                var results = await Task.WhenAll(Enumerable.Range(0, Series).Select(s =>
                    cluster.Client.GetGrain<ISeriesForecastGrain>($"s{s}").ObserveAsync(FleetModels.Reading(s, n))));
                for (var s = 0; s < Series; s++)
                {
                    var reading = FleetModels.Reading(s, n);
                    Assert.AreEqual(2, results[s].ModelVersion, "switched on the first reading after the rollout");
                    Assert.AreEqual(FleetModels.B.Fingerprint, results[s].ModelFingerprint);
                    Assert.AreEqual(FleetModels.B.WindowSize + n - before, results[s].ObservationCount);
                    Bits.AreEqual(engines[s].Observe(reading.Value, reading.Covariates), results[s], $"series {s} after {n}");
                }
            }

            // Every grain let go of version 1, so no silo keeps it loaded.
            foreach (var silo in cluster.Silos)
            {
                CollectionAssert.AreEqual(new[] { 2 }, FleetCluster.Models(silo).LoadedVersions.ToArray(), silo.Name);
            }
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    [TestMethod]
    public async Task ACheckpointIsNeverResumedByAnotherModel_EvenUnderItsVersionNumber()
    {
        // Cluster 1 writes states with model A as version 1, then the whole cluster goes away (storage stays).
        var cluster = await FleetCluster.StartAsync(2, new() { [1] = FleetModels.PathA });
        var engine = new LmuForecastEngine(FleetModels.A);
        try
        {
            for (var n = 1; n <= 15; n++)
            {
                var reading = FleetModels.Reading(0, n);
                Bits.AreEqual(engine.Observe(reading.Value, reading.Covariates), await cluster.Client.GetGrain<ISeriesForecastGrain>("s0").ObserveAsync(reading), $"after {n}");
            }
        }
        finally
        {
            await cluster.DisposeAsync();
        }

        // Cluster 2 is misconfigured: version 1 names model B. The state (A's fingerprint) is refused, nothing applied.
        cluster = await FleetCluster.StartAsync(2, new() { [1] = FleetModels.PathB });
        try
        {
            var e = await Assert.ThrowsExactlyAsync<InvalidDataException>(() => cluster.Client.GetGrain<ISeriesForecastGrain>("s0").ObserveAsync(FleetModels.Reading(0, 16)));
            StringAssert.Contains(e.Message, FleetModels.A.Fingerprint);
            StringAssert.Contains(e.Message, FleetModels.B.Fingerprint);
        }
        finally
        {
            await cluster.DisposeAsync();
        }

        // Cluster 3 restores version 1's file: the series resumes from storage exactly where it stopped.
        cluster = await FleetCluster.StartAsync(2, new() { [1] = FleetModels.PathA });
        try
        {
            var reading = FleetModels.Reading(0, 16);
            var result = await cluster.Client.GetGrain<ISeriesForecastGrain>("s0").ObserveAsync(reading);
            Assert.AreEqual(16, result.LastSequence);
            Bits.AreEqual(engine.Observe(reading.Value, reading.Covariates), result, "resumed after a cluster restart");
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    // Every exception's type and message, outermost first.
    private static string Chain(Exception e)
    {
        var parts = new List<string>();
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            parts.Add($"{x.GetType().Name}: {x.Message}");
        }

        return string.Join(" | ", parts);
    }
}
