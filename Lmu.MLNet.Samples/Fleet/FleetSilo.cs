using Lmu.MLNet.Forecasting;
using Lmu.MLNet.Orleans;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime.Hosting;

namespace Lmu.MLNet.Samples.Fleet;

/// <summary>
/// The embedded default of the fleet: one silo in this process, localhost clustering, grain storage in this process's
/// memory (<see cref="InProcessGrainStorage"/>), and no grain-directory cache (one silo holds every grain). A real
/// cluster changes the first two (e.g. UseAdoNetClustering / AddAdoNetGrainStorage, or Redis, Azure...) and keeps the
/// cache, bounded by GrainDirectoryOptions.CacheSize.
/// </summary>
internal static class FleetSilo
{
    public const int DefaultSiloPort = 11111;
    public const int DefaultGatewayPort = 30000;

    /// <summary>
    /// Refuses ports the embedded silo cannot listen on, naming the option, before anything is trained, loaded or
    /// started: a silo port in use failed serve --series with "could not listen on --urls" (whose port was free) after
    /// three Orleans stack traces, and fleet with a bare AddressInUseException; one port for both was accepted (fleet QA).
    /// Another process may still take a port between this check and the silo's start (then Orleans' own error).
    /// </summary>
    /// <exception cref="ArgumentException">The ports are equal, or one is in use on the loopback address.</exception>
    public static void CheckPorts(int siloPort, int gatewayPort)
    {
        if (siloPort == gatewayPort)
        {
            throw new ArgumentException($"--silo-port and --gateway-port are both {siloPort}: the embedded silo and its client gateway each need a port of their own.");
        }

        foreach (var (port, option, role) in new[] { (siloPort, "--silo-port", "silo"), (gatewayPort, "--gateway-port", "client gateway") })
        {
            var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
            try
            {
                listener.Start();
            }
            catch (System.Net.Sockets.SocketException e) when (e.SocketErrorCode is System.Net.Sockets.SocketError.AddressAlreadyInUse or System.Net.Sockets.SocketError.AccessDenied)
            {
                throw new ArgumentException($"{option} {port}: the embedded Orleans {role} cannot listen there ({e.Message}); choose another port with {option}.", e);
            }
            finally
            {
                listener.Stop();
            }
        }
    }

    /// <summary>Configures the embedded silo to stream <paramref name="model"/>, loaded from <paramref name="modelPath"/> (version 1).</summary>
    /// <remarks>
    /// The silo's model cache starts with <paramref name="model"/> instead of reading the file again at the first
    /// reading: serve --series checked the model at its start and the cache loaded the file once more later, so a
    /// deploy that moved or deleted the file after the start failed every series call (500) while /predict went on
    /// from the model it had loaded.
    /// </remarks>
    public static void Configure(ISiloBuilder silo, string modelPath, LmuForecastEngineModel model, int siloPort = DefaultSiloPort, int gatewayPort = DefaultGatewayPort)
    {
        silo.UseLocalhostClustering(siloPort, gatewayPort)
            .AddLmuForecastFleet(o => o.ModelPaths[1] = modelPath);
        // Registered after AddLmuForecastFleet's own, so this one is resolved.
        silo.Services.AddSingleton(sp => new ForecastModelCache(
            sp.GetRequiredService<IOptions<ForecastFleetOptions>>().Value, path => path == modelPath ? model : LmuForecastEngineModel.Load(path)));
        silo.Services.AddGrainStorage(ForecastFleetOptions.StorageName, (sp, _) => new InProcessGrainStorage(sp.GetRequiredService<global::Orleans.Serialization.Serializer>()));
        silo.Services.AddLogging(l => l.AddFilter("Orleans", LogLevel.Warning).AddFilter("Microsoft.Orleans", LogLevel.Warning).AddFilter("Polly", LogLevel.Warning));
        // One silo holds every grain, so the grain directory's cache of other silos' grains saves nothing, and it kept
        // about 300 bytes for every series id ever called, up to a million entries (Orleans QA: 310 MB after 1.5 million
        // reads of unknown ids; under a 256 MB heap limit serve --series died with "Out of memory", and ids created and
        // deleted kept their entries, so new series were refused for good). A real cluster's silos keep the cache, and
        // should bound it (GrainDirectoryOptions.CacheSize) by their memory.
        silo.Configure<global::Orleans.Configuration.GrainDirectoryOptions>(o => o.CachingStrategy = global::Orleans.Configuration.GrainDirectoryOptions.CachingStrategyType.None);
    }
}
