using Lmu.MLNet.Forecasting;

namespace Lmu.MLNet.Orleans;

/// <summary>A grain's hold on one model version of its silo's <see cref="ForecastModelCache"/>; dispose it to let go.</summary>
public sealed class ModelLease : IDisposable
{
    private ForecastModelCache? _cache;

    internal ModelLease(ForecastModelCache cache, int version, LmuForecastEngineModel model)
    {
        _cache = cache;
        Version = version;
        Model = model;
    }

    /// <summary>The model version held.</summary>
    public int Version { get; }

    /// <summary>The shared model (the same object for every lease of this version while it stays loaded).</summary>
    public LmuForecastEngineModel Model { get; }

    /// <summary>Releases the hold (once; later calls do nothing).</summary>
    public void Dispose() => Interlocked.Exchange(ref _cache, null)?.Release(Version);
}
