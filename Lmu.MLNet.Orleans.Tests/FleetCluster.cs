using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime.Hosting;
using Orleans.Serialization;
using Orleans.TestingHost;

namespace Lmu.MLNet.Orleans.Tests;

/// <summary>A test cluster of in-process silos running the series grains over <see cref="SharedGrainStorage"/>.</summary>
internal static class FleetCluster
{
    // Read by the silo configurator, which the test host creates by type; tests run one at a time (no parallelization).
    private static Dictionary<int, string> _paths = [];
    private static int _current = 1;
    private static TimeSpan? _retention;
    private static bool _loadAtStart = true;
    private static bool _withStorage = true;

    /// <summary>
    /// Starts <paramref name="silos"/> silos; <paramref name="retention"/> sets <see cref="ForecastFleetOptions.UnusedVersionRetention"/>
    /// (default: its default), <paramref name="loadAtStart"/> <see cref="ForecastFleetOptions.LoadCurrentVersionAtStart"/>.
    /// </summary>
    public static async Task<TestCluster> StartAsync(
        int silos, Dictionary<int, string> modelPaths, int currentVersion = 1, TimeSpan? retention = null, bool loadAtStart = true, bool withStorage = true)
    {
        (_paths, _current, _retention, _loadAtStart, _withStorage) = (modelPaths, currentVersion, retention, loadAtStart, withStorage);
        var builder = new TestClusterBuilder((short)silos);
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    public static ForecastModelCache Models(SiloHandle silo) =>
        ((InProcessSiloHandle)silo).SiloHost.Services.GetRequiredService<ForecastModelCache>();

    /// <summary>Where each series grain is active now: series id -> silo.</summary>
    public static async Task<Dictionary<string, SiloAddress>> PlacementAsync(TestCluster cluster)
    {
        var stats = await cluster.Client.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics();
        return stats.Where(s => s.GrainId.Type.ToString()!.Contains("seriesforecast", StringComparison.OrdinalIgnoreCase))
            .ToDictionary(s => s.GrainId.Key.ToString()!, s => s.SiloAddress);
    }

    /// <summary>Sends a reading as a sender must: resending it (same number) until a call succeeds.</summary>
    public static async Task<SeriesForecastResult> ObserveWithRetryAsync(IClusterClient client, string series, SeriesObservation reading)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await client.GetGrain<ISeriesForecastGrain>(series).ObserveAsync(reading);
            }
            catch (Exception e) when (attempt < 150 && e is not ArgumentException and not InvalidDataException)
            {
                await Task.Delay(200);
            }
        }
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            if (_withStorage)
            {
                siloBuilder.Services.AddGrainStorage(
                    ForecastFleetOptions.StorageName, (sp, _) => new SharedGrainStorage(sp.GetRequiredService<Serializer>()));
            }

            var (paths, current, retention, loadAtStart) = (_paths, _current, _retention, _loadAtStart);
            siloBuilder.AddLmuForecastFleet(o =>
            {
                foreach (var (version, path) in paths)
                {
                    o.ModelPaths[version] = path;
                }

                o.CurrentVersion = current;
                o.UnusedVersionRetention = retention ?? o.UnusedVersionRetention;
                o.LoadCurrentVersionAtStart = loadAtStart;
            });
        }
    }
}
