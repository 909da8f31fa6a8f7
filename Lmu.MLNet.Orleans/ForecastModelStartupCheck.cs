using Microsoft.Extensions.DependencyInjection;

namespace Lmu.MLNet.Orleans;

/// <summary>
/// Loads the silo's current model version while the silo starts, so a silo whose current model file is missing or
/// damaged fails to start instead of joining the cluster and failing every reading of the series placed on it (QA: a
/// silo added with a model file that was never deployed started in 187 ms, and the 10-22 series it received failed
/// every reading, resends included, until it was stopped). The current version stays loaded from then on (the cache
/// never drops it).
/// </summary>
internal sealed class ForecastModelStartupCheck : ILifecycleParticipant<ISiloLifecycle>
{
    private readonly ForecastModelCache _models;
    private readonly bool _enabled;
    private readonly IServiceProvider _services;

    public ForecastModelStartupCheck(ForecastModelCache models, Microsoft.Extensions.Options.IOptions<ForecastFleetOptions> options, IServiceProvider services) =>
        (_models, _enabled, _services) = (models, options.Value.LoadCurrentVersionAtStart, services);

    public void Participate(ISiloLifecycle lifecycle)
    {
        // A silo without the grains' storage started and joined, and its first call failed three exceptions deep
        // (regression QA): refused at the start instead.
        lifecycle.Subscribe(nameof(ForecastModelStartupCheck) + ".Storage", ServiceLifecycleStage.ApplicationServices, cancellationToken =>
        {
            _ = _services.GetKeyedService<global::Orleans.Storage.IGrainStorage>(ForecastFleetOptions.StorageName)
                ?? throw new InvalidOperationException("The silo cannot start: " + CodecSafeGrainStorage.NoStorage);
            return Task.CompletedTask;
        });
        if (_enabled)
        {
            // Before the silo becomes active: no grain call reaches it until the model is loaded.
            lifecycle.Subscribe(nameof(ForecastModelStartupCheck), ServiceLifecycleStage.ApplicationServices, Load);
        }
    }

    private Task Load(CancellationToken cancellationToken)
    {
        var version = _models.CurrentVersion;
        try
        {
            _models.Acquire(version).Dispose();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Any loader's failure (a blank path's ArgumentException, a custom loader's own) is named the same way (review).
            throw new InvalidOperationException(
                $"The silo cannot start: the model file of its current version {version} (ForecastFleetOptions.CurrentVersion) cannot be loaded: {e.Message}", e);
        }

        return Task.CompletedTask;
    }
}
