using Lmu.MLNet.Modules;
using Lmu.MLNet.Tests.Forecasting;

namespace Lmu.MLNet.Orleans.Tests;

/// <summary>Two small hand-made forecasters (one covariate, per-window scaling, bounds) written as engine checkpoint files.</summary>
internal static class FleetModels
{
    public const int Covariates = 1;

    /// <summary>Model A (seed 7): Dense hidden cell, so the engine slides its state.</summary>
    public static LmuForecastModel A { get; } = ForecastTestModels.Create(HiddenCell.Dense, Covariates, LmuForecastScaling.PerWindow, seed: 7);

    /// <summary>Model B (seed 11): the same shape with other weights, i.e. another fingerprint.</summary>
    public static LmuForecastModel B { get; } = ForecastTestModels.Create(HiddenCell.Dense, Covariates, LmuForecastScaling.PerWindow, seed: 11);

    /// <summary>Model C (seed 13): no covariate, for a rollout that changes the readings' layout.</summary>
    public static LmuForecastModel C { get; } = ForecastTestModels.Create(HiddenCell.Dense, 0, LmuForecastScaling.PerWindow, seed: 13);

    private static readonly Lazy<string> Folder = new(() =>
    {
        var dir = Path.Combine(Path.GetTempPath(), "lmu-fleet-tests-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        Write(Path.Combine(dir, "a.engine"), A);
        Write(Path.Combine(dir, "b.engine"), B);
        Write(Path.Combine(dir, "c.engine"), C);
        return dir;
    });

    /// <summary>Removes the model files (the folder is per process).</summary>
    public static void Remove()
    {
        if (Folder.IsValueCreated)
        {
            Directory.Delete(Folder.Value, recursive: true);
        }
    }

    public static string PathA => Path.Combine(Folder.Value, "a.engine");

    public static string PathB => Path.Combine(Folder.Value, "b.engine");

    public static string PathC => Path.Combine(Folder.Value, "c.engine");

    /// <summary>Reading <paramref name="n"/> (1-based) of series <paramref name="series"/>: a seasonal level with a day-of-week covariate.</summary>
    public static SeriesObservation Reading(int series, long n)
    {
        var t = (double)n + 5 * series;
        var value = (float)(100 + 10 * series + 30 * Math.Sin(t * 0.4) + 0.2 * t + ((n * 7919 + series * 104729) % 13) * 0.37);
        return new SeriesObservation(n, value, [(float)((n + series) % 7)]);
    }

    private static void Write(string path, LmuForecastModel model) => new LmuForecastEngine(model).CheckPoint(path);
}
