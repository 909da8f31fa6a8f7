using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Lmu.MLNet.Orleans;

/// <summary>Adds the series forecast grains' services to a silo.</summary>
public static class ForecastFleetSiloBuilderExtensions
{
    /// <summary>
    /// Registers the silo's <see cref="ForecastModelCache"/> with the model versions <paramref name="configure"/> sets.
    /// The grains persist to the storage provider named <see cref="ForecastFleetOptions.StorageName"/>, which the silo
    /// configures like its clustering (e.g. <c>AddMemoryGrainStorage(ForecastFleetOptions.StorageName)</c> on one machine).
    /// The current version's model is loaded while the silo starts: a missing or damaged file fails the start (an
    /// <see cref="InvalidOperationException"/> naming the file) rather than every reading of the series placed on it.
    /// </summary>
    public static ISiloBuilder AddLmuForecastFleet(this ISiloBuilder builder, Action<ForecastFleetOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(configure);
        builder.Services.AddSingleton<ForecastModelCache>();
        builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, ForecastModelStartupCheck>();
        // The grains reach the silo's provider through a view that turns failures Orleans cannot carry into ones it can.
        builder.Services.AddKeyedSingleton<IGrainStorage>(
            CodecSafeGrainStorage.Name,
            (sp, _) => new CodecSafeGrainStorage(sp.GetKeyedService<IGrainStorage>(ForecastFleetOptions.StorageName) ?? throw new InvalidOperationException(CodecSafeGrainStorage.NoStorage)));
        return builder;
    }
}
