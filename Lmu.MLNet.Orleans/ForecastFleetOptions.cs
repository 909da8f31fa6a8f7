namespace Lmu.MLNet.Orleans;

/// <summary>The model versions a silo serves (<see cref="ForecastFleetSiloBuilderExtensions.AddLmuForecastFleet"/>).</summary>
public sealed class ForecastFleetOptions
{
    /// <summary>Name of the grain storage provider the series grains persist to (configure it on the silo: memory, ADO.NET, Redis...).</summary>
    public const string StorageName = "lmu-forecasts";

    /// <summary>
    /// Model file of each version (an engine checkpoint or a typed engine's CheckPoint zip; see
    /// <c>LmuForecastEngineModel.Load</c>). Every silo must list the versions its series may use: the current one and
    /// those series still hold (until they switch on their next reading). A version number names one model for good.
    /// </summary>
    public Dictionary<int, string> ModelPaths { get; } = [];

    /// <summary>The version series switch to on their next reading (default 1). Versions only move forward.</summary>
    public int CurrentVersion { get; set; } = 1;
}
