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

    public ForecastModelStartupCheck(ForecastModelCache models) => _models = models;

    public void Participate(ISiloLifecycle lifecycle) =>
        // Before the silo becomes active: no grain call reaches it until the model is loaded.
        lifecycle.Subscribe(nameof(ForecastModelStartupCheck), ServiceLifecycleStage.ApplicationServices, Load);

    private Task Load(CancellationToken cancellationToken)
    {
        var version = _models.CurrentVersion;
        try
        {
            _models.Acquire(version).Dispose();
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException(
                $"The silo cannot start: the model file of its current version {version} (ForecastFleetOptions.CurrentVersion) cannot be loaded: {e.Message}", e);
        }

        return Task.CompletedTask;
    }
}
