namespace Lmu.MLNet.Samples.Cli;

/// <summary>
/// The training settings <c>lmu forecast</c> derives from the data when the command line leaves them at 0: the
/// window, the stride between training windows, the batch size and the epochs. The aim is a model that trains in
/// about the same number of gradient steps whatever the data's size: small files get many epochs over few windows,
/// large ones a stride that keeps about 30,000 windows.
/// </summary>
internal static class ForecastDefaults
{
    /// <summary>Training windows kept per epoch at most (the stride grows beyond).</summary>
    public const int MaxWindows = 30_000;

    /// <summary>Gradient steps aimed at.</summary>
    public const int TargetSteps = 3_000;

    /// <summary>The shortest window: each window is scaled by its own values, which needs 2 of them.</summary>
    public const int MinWindow = 2;

    /// <summary>
    /// Two horizons or three seasons (a week of hourly data, m = 24, whose weekly cycle matters too), at least 8 steps:
    /// enough history to see the season and the level. Measured on M4 Hourly's backtest: window 96 (three days) gave
    /// sMAPE 15.01 against seasonal naive's 14.84, a week 13.97.
    /// </summary>
    public static int Window(int horizon, int seasonality) =>
        Math.Max(8, Math.Max(2 * horizon, seasonality == 24 ? 7 * 24 : 3 * seasonality));

    /// <summary>
    /// The window when --window is 0: <see cref="Window(int, int)"/>, cut to what <paramref name="shortest"/> leaves after
    /// <paramref name="origins"/> held-out horizons and one horizon of targets. <paramref name="warning"/> names the
    /// series that cut it: one short series shrinks every series' window, which went unsaid (found by QA).
    /// </summary>
    public static int Window(int horizon, int seasonality, int origins, ForecastSeriesData shortest, string path, out string? warning)
    {
        var wanted = Window(horizon, seasonality);
        var fits = shortest.Values.Length - ((origins + 1) * horizon);
        // A series too short for any window is an error later (CheckLengths), not a warning; a window of 1 is no window
        // (QA: a warning of "window 1", then the library's refusal of WindowSize = 1 after "training" was printed).
        warning = fits < wanted && fits >= MinWindow
            ? $"warning: window {fits} instead of {wanted} for every series: {shortest.Describe(path)} has {shortest.Values.Length} values, and {origins} held-out horizon(s) and one horizon of targets leave {fits}; drop or lengthen that series, or set --window and --backtests."
            : null;
        return Math.Min(wanted, fits);
    }

    /// <summary>Backtest origins: the last horizons held out, about a fifth of the shortest series, 1 to 10 of them (one origin alone is a noisy judge of a single series).</summary>
    public static int Origins(int shortest, int horizon) => Math.Clamp(shortest / 5 / horizon, 1, 10);

    /// <summary>Dense hidden units: 64 for a few thousand windows, 256 (the M4 recipe) from 10,000 windows.</summary>
    public static int Units(long windows) => windows < 10_000 ? 64 : 256;

    /// <summary>Stride, batch size and epochs for <paramref name="windows"/> training windows at stride 1.</summary>
    public static (int Stride, int BatchSize, int Epochs) Training(long windows, int stride, int batchSize, int epochs)
    {
        var s = stride > 0 ? stride : (int)Math.Max(1, (windows + MaxWindows - 1) / MaxWindows);
        var kept = Math.Max(1, windows / s);
        var b = batchSize > 0 ? batchSize : kept < 2_000 ? 16 : kept < 20_000 ? 32 : 128;
        var perEpoch = Math.Max(1, (kept + b - 1) / b);
        var e = epochs > 0 ? epochs : (int)Math.Clamp((TargetSteps + perEpoch - 1) / perEpoch, 10, 200);
        return (s, b, e);
    }
}
