namespace Lmu.MLNet.Orleans.Tests;

/// <summary>
/// What a silo checks of its models and a call of its readings before anything is applied: the current version's model
/// file at the silo's start, a version the silo does not list (named with the series, the activation released), and the
/// order of a batch's numbers.
/// </summary>
[TestClass]
public sealed class SiloModelCheckTests
{
    [TestInitialize]
    public void ClearStorage() => SharedGrainStorage.Clear();

    [TestMethod]
    public async Task ASiloWhoseCurrentModelCannotBeLoadedDoesNotStart()
    {
        // QA: a silo started with a model file that was never deployed joined the cluster in 187 ms, and every reading of
        // the series placed on it failed, resends included.
        var damaged = Path.Combine(Path.GetTempPath(), $"lmu-damaged-{Guid.NewGuid():N}.engine");
        File.WriteAllBytes(damaged, [1, 2, 3, 4, 5, 6, 7, 8]);
        try
        {
            foreach (var (path, why) in new[] { (Path.Combine(Path.GetTempPath(), $"lmu-never-deployed-{Guid.NewGuid():N}.engine"), "does not exist"), (damaged, damaged) })
            {
                var e = await Assert.ThrowsAsync<Exception>(() => FleetCluster.StartAsync(1, new() { [1] = path }));
                var text = e.ToString();
                StringAssert.Contains(text, "The silo cannot start: the model file of its current version 1 (ForecastFleetOptions.CurrentVersion) cannot be loaded");
                StringAssert.Contains(text, why);
            }
        }
        finally
        {
            File.Delete(damaged);
        }

        // Review: a host that fetches the file after the silo starts can load it at the first reading instead.
        var later = Path.Combine(Path.GetTempPath(), $"lmu-fetched-later-{Guid.NewGuid():N}.engine");
        var lazy = await FleetCluster.StartAsync(1, new() { [1] = later }, loadAtStart: false);
        try
        {
            File.Copy(FleetModels.PathA, later);
            Assert.AreEqual(ObservationOutcome.Applied, (await lazy.Client.GetGrain<ISeriesForecastGrain>("s").ObserveAsync(FleetModels.Reading(0, 1))).Outcome);
        }
        finally
        {
            await lazy.DisposeAsync();
            File.Delete(later);
        }

        // Regression QA: a silo without the grains' storage started, and its first call failed three exceptions deep.
        var noStorage = await Assert.ThrowsAsync<Exception>(() => FleetCluster.StartAsync(1, new() { [1] = FleetModels.PathA }, withStorage: false));
        StringAssert.Contains(noStorage.ToString(), $"The silo cannot start: no grain storage named '{ForecastFleetOptions.StorageName}' (ForecastFleetOptions.StorageName) is registered on this silo");

        // A good file starts, loaded before any call.
        var cluster = await FleetCluster.StartAsync(1, new() { [1] = FleetModels.PathA });
        try
        {
            CollectionAssert.AreEqual(new[] { 1 }, FleetCluster.Models(cluster.Silos[0]).LoadedVersions.ToArray());
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    [TestMethod]
    public async Task AVersionTheSiloDoesNotListIsNamedWithTheSeries_AndItsActivationGoes()
    {
        var cluster = await FleetCluster.StartAsync(1, new() { [1] = FleetModels.PathA, [2] = FleetModels.PathB }, currentVersion: 2);
        try
        {
            Assert.AreEqual(2, (await cluster.Client.GetGrain<ISeriesForecastGrain>("moved").ObserveAsync(FleetModels.Reading(0, 1))).ModelVersion);
        }
        finally
        {
            await cluster.DisposeAsync();
        }

        // The same storage, a cluster that lists version 1 only: the series' version is missing on this silo.
        cluster = await FleetCluster.StartAsync(1, new() { [1] = FleetModels.PathA });
        try
        {
            var grain = cluster.Client.GetGrain<ISeriesForecastGrain>("moved");
            var e = await Assert.ThrowsExactlyAsync<InvalidOperationException>(() => grain.ObserveAsync(FleetModels.Reading(0, 2)));
            StringAssert.StartsWith(e.Message, "Series 'moved': Model version 2 has no model file on this silo; it lists 1.");
            // Released, so a resend can be placed on a silo that lists the version (it stayed, failing every resend: QA).
            var placement = await FleetCluster.PlacementAsync(cluster);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (placement.ContainsKey("moved") && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(100);
                placement = await FleetCluster.PlacementAsync(cluster);
            }

            Assert.IsFalse(placement.ContainsKey("moved"), "the activation that could not get its model was released");
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    [TestMethod]
    public async Task ABatchWhoseNumbersDoNotIncreaseIsRefusedWhole()
    {
        static string Invariant(float v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);
        // QA: [16, 17, 17 (another value), 18] applied the first 17, skipped the second whatever its value, and answered Applied.
        var cluster = await FleetCluster.StartAsync(1, new() { [1] = FleetModels.PathA });
        try
        {
            var grain = cluster.Client.GetGrain<ISeriesForecastGrain>("s");
            await grain.ObserveBatchAsync([.. Enumerable.Range(1, 15).Select(n => FleetModels.Reading(0, n))]);
            var writes = SharedGrainStorage.Writes;
            var repeated = FleetModels.Reading(0, 17) with { Value = 9999 };
            var r17 = FleetModels.Reading(0, 17);
            var r16 = FleetModels.Reading(0, 16);
            foreach (var (batch, message) in new[]
            {
                (new[] { r16, r17, repeated, FleetModels.Reading(0, 18) }, $"reading 17 (value 9999) follows reading 17 (value {Invariant(r17.Value)}) at position 3 of 4"),
                ([r17, r16], $"reading 16 (value {Invariant(r16.Value)}) follows reading 17 (value {Invariant(r17.Value)}) at position 2 of 2"),
            })
            {
                var e = await Assert.ThrowsExactlyAsync<ArgumentException>(() => grain.ObserveBatchAsync(batch));
                StringAssert.Contains(e.Message, $"Series 's': the batch's reading numbers must not go back, and a number repeated must repeat its reading, but {message}. Nothing of this call was applied.");
                Assert.AreEqual(15L, (await grain.GetForecastAsync()).LastSequence);
            }

            Assert.AreEqual(writes, SharedGrainStorage.Writes, "nothing written");
            // Review: a reading delivered twice (a queue that redelivers) is a resend inside the batch too, applied once.
            var twice = await grain.ObserveBatchAsync([FleetModels.Reading(0, 14), FleetModels.Reading(0, 14), r16, r16 with { Covariates = [.. r16.Covariates] }, r17]);
            Assert.AreEqual((ObservationOutcome.Applied, 17L, 17L), (twice.Outcome, twice.LastSequence, twice.ObservationCount));
            var engine = new LmuForecastEngine(FleetModels.A);
            LmuForecast? expected = null;
            for (var n = 1; n <= 17; n++)
            {
                expected = engine.Observe(FleetModels.Reading(0, n).Value, FleetModels.Reading(0, n).Covariates);
            }

            Bits.AreEqual(expected, twice, "each reading applied once");
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }
}
