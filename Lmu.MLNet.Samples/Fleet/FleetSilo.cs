using Lmu.MLNet.Orleans;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Lmu.MLNet.Samples.Fleet;

/// <summary>
/// The embedded default of the fleet: one silo in this process, localhost clustering, in-memory grain storage. A real
/// cluster changes only these two calls (e.g. UseAdoNetClustering / AddAdoNetGrainStorage, or Redis, Azure...).
/// </summary>
internal static class FleetSilo
{
    public const int DefaultSiloPort = 11111;
    public const int DefaultGatewayPort = 30000;

    public static void Configure(ISiloBuilder silo, string modelPath, int siloPort = DefaultSiloPort, int gatewayPort = DefaultGatewayPort)
    {
        silo.UseLocalhostClustering(siloPort, gatewayPort)
            // The memory provider keeps states in a few storage grains; more of them spread the writes of many series.
            .AddMemoryGrainStorage(ForecastFleetOptions.StorageName, o => o.NumStorageGrains = 64)
            .AddLmuForecastFleet(o => o.ModelPaths[1] = modelPath);
        silo.Services.AddLogging(l => l.AddFilter("Orleans", LogLevel.Warning).AddFilter("Microsoft.Orleans", LogLevel.Warning).AddFilter("Polly", LogLevel.Warning));
    }
}
