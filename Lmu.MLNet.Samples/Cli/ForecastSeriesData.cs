namespace Lmu.MLNet.Samples.Cli;

/// <summary>One series read by <see cref="ForecastFile"/>: its id, values and covariates in time order, and the file line of each value.</summary>
/// <param name="Id">The series id ("" for a file holding one series).</param>
/// <param name="Values">The values, oldest first.</param>
/// <param name="Covariates">Per covariate, its values aligned with <paramref name="Values"/>.</param>
/// <param name="Lines">The file line of each value (for error messages).</param>
/// <param name="Times">The time of each value when a time column was given (for the seasonality guess), else null.</param>
/// <param name="Dates">True when the times were dates (then in days).</param>
/// <param name="Zoned">True when some time was written with its zone ("Z" or an offset): no local clock times then.</param>
/// <param name="Quarters">True when every time was written as a quarter (2010Q1; then in days, at the quarter's first day).</param>
internal sealed record ForecastSeriesData(string Id, double[] Values, double[][] Covariates, int[] Lines, double[]? Times, bool Dates = false, bool Zoned = false, bool Quarters = false)
{
    /// <summary>
    /// Steps of more than 1.5 times the smallest spacing of <see cref="Times"/> (missing times): their count, and the
    /// first one's line and size in units of that spacing; (0, 0, 0) without times. The model treats a series as evenly
    /// spaced, so a gap shifts every seasonal pattern after it (a 10-day gap in daily data moves a week by 3 days).
    /// </summary>
    public (int Count, int Line, double Steps) Gaps()
    {
        if (Times is not { Length: > 2 } t) return (0, 0, 0);
        var spacing = t.Zip(t.Skip(1), (a, b) => b - a).Where(d => d > 0).DefaultIfEmpty(0).Min();
        if (spacing <= 0) return (0, 0, 0);
        int count = 0, line = 0;
        double steps = 0;
        for (var i = 1; i < t.Length; i++)
        {
            if (t[i] - t[i - 1] <= 1.5 * spacing) continue;
            if (count++ == 0) (line, steps) = (Lines[i], (t[i] - t[i - 1]) / spacing);
        }
        return (count, line, steps);
    }

    /// <summary>
    /// True when the first gap of <see cref="Gaps"/> is one clock hour more than the spacing of sub-hourly or hourly dates
    /// written without a zone, in a month when clocks go forward somewhere (March, April; September, October, November
    /// south of the equator): the hour that local clock times skip when daylight saving starts, which writing the times
    /// in UTC or with their offset removes (forecasting QA: the warning said only "fill the missing times"; review: any
    /// missing hourly reading, UTC times in July included, got the advice).
    /// </summary>
    public bool FirstGapIsAClockHour()
    {
        if (!Dates || Zoned || Times is not { Length: > 2 } t) return false;
        var spacing = t.Zip(t.Skip(1), (a, b) => b - a).Where(d => d > 0).DefaultIfEmpty(0).Min();
        const double hour = 1.0 / 24, second = 1.0 / 86_400;
        if (spacing <= 0 || spacing > hour + second) return false;
        for (var i = 1; i < t.Length; i++)
        {
            if (t[i] - t[i - 1] > 1.5 * spacing)
            {
                var month = new DateTime((long)Math.Round(t[i - 1] * TimeSpan.TicksPerDay), DateTimeKind.Utc).Month;
                return Math.Abs(t[i] - t[i - 1] - spacing - hour) < second && month is 3 or 4 or 9 or 10 or 11;
            }
        }

        return false;
    }

    /// <summary>How an error names the series: "series 'V1' (lines 2-701)" or "the series (lines 2-145)".</summary>
    public string Describe(string path) =>
        $"'{path}' {(Lines.Length > 0 ? $"line {Lines.Min()}" : string.Empty)}: {(Id.Length == 0 ? "the series" : $"series '{Shown(Id)}'")}";

    /// <summary>An id as messages show it: its first 60 characters and how many more (QA: a 1 MB id made a 1 MB error line).</summary>
    public static string Shown(string id) => id.Length <= 60 ? id : $"{id[..60]}... ({id.Length:N0} characters)";
}
