namespace Lmu.MLNet.Orleans;

/// <summary>The model versions a silo serves (<see cref="ForecastFleetSiloBuilderExtensions.AddLmuForecastFleet"/>).</summary>
public sealed class ForecastFleetOptions
{
    /// <summary>Name of the grain storage provider the series grains persist to (configure it on the silo: memory, ADO.NET, Redis...).</summary>
    public const string StorageName = "lmu-forecasts";

    /// <summary>
    /// Model file of each version (an engine checkpoint, a forecaster's model zip fitted with 0.4.0 or later, or a typed engine's CheckPoint zip; see
    /// <c>LmuForecastEngineModel.Load</c>). Every silo must list the versions its series may use: the current one and
    /// those series still hold (until they switch on their next reading). A version number names one model for good.
    /// </summary>
    public Dictionary<int, string> ModelPaths { get; } = [];

    /// <summary>The version series switch to on their next reading (default 1). Versions only move forward.</summary>
    public int CurrentVersion { get; set; } = 1;

    /// <summary>
    /// How long a version that is not current stays loaded after its last grain let go of it (default 10 minutes). Each
    /// series stored on an old version resumes on it and switches on its first reading after a rollout: dropped with its
    /// last lease, the old model was loaded again for every such series (QA: 301 loads for 300 idle series, 214 ms each).
    /// It is dropped at the first use of the cache after that time. <see cref="TimeSpan.Zero"/> drops it at once;
    /// <see cref="Timeout.InfiniteTimeSpan"/> keeps every version once loaded.
    /// </summary>
    public TimeSpan UnusedVersionRetention { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Whether the silo loads its current version's model while it starts, failing the start when the file is missing
    /// or damaged (default true: a silo so configured joined the cluster and failed every reading of the series placed
    /// on it). False loads it at the first reading, for a host that fetches the file after the silo has started.
    /// </summary>
    public bool LoadCurrentVersionAtStart { get; set; } = true;
}
