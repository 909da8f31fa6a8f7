using Microsoft.Extensions.DependencyInjection;

namespace Lmu.MLNet.Orleans;

/// <summary>Adds the series forecast grains' services to a silo.</summary>
public static class ForecastFleetSiloBuilderExtensions
{
    /// <summary>
    /// Registers the silo's <see cref="ForecastModelCache"/> with the model versions <paramref name="configure"/> sets.
    /// The grains persist to the storage provider named <see cref="ForecastFleetOptions.StorageName"/>, which the silo
    /// configures like its clustering (e.g. <c>AddMemoryGrainStorage(ForecastFleetOptions.StorageName)</c> on one machine).
    /// </summary>
    public static ISiloBuilder AddLmuForecastFleet(this ISiloBuilder builder, Action<ForecastFleetOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(configure);
        builder.Services.AddSingleton<ForecastModelCache>();
        return builder;
    }
}
