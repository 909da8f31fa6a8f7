namespace Lmu.MLNet.Samples.Cli;

/// <summary>
/// The seasonal period m of <c>lmu forecast</c> when <c>--seasonality</c> is not given (it sets the seasonal naive
/// baseline, MASE's lag and the default window): from the spacing of dates (hourly 24, daily 7 or 5 for weekdays only,
/// weekly 52, monthly 12, quarterly 4) or of decimal years (1/spacing: 12 for months), else the candidate period whose autocorrelation is
/// highest among those M4's seasonality test accepts for most series; 1 when none does.
/// </summary>
internal static class Seasonality
{
    private static readonly int[] Candidates = [24, 12, 7, 4, 52, 168];

    /// <summary>The guess and how it was made, for the log.</summary>
    public static (int Period, string Reason) Guess(IReadOnlyList<ForecastSeriesData> series)
    {
        var first = series[0];
        if (first.Times is { Length: > 2 } times)
        {
            var spacing = Median(times.Zip(times.Skip(1), (a, b) => b - a));
            if (first.Dates)
            {
                var m = CalendarSteps.Of(spacing) switch
                {
                    CalendarStep.Hour => 24,
                    CalendarStep.Day => 7,
                    CalendarStep.Week => 52,
                    CalendarStep.Month => 12,
                    CalendarStep.Quarter => 4,
                    _ => 0,
                };
                if (m == 7 && BusinessDays(series))
                {
                    // Weekdays only: the week is 5 steps long. Read as 7, seasonal naive compared different weekdays and
                    // MASE's scale grew with it (QA: MASE 0.063 "beating" seasonal naive's 0.998; 0.806 against 0.973 at 5).
                    return (5, $"dates {spacing:G3} days apart on weekdays only (business days)");
                }

                if (m > 0)
                {
                    return (m, $"dates {spacing:G3} days apart");
                }
            }
            else if (spacing is > 0 and < 1 && Math.Round(1 / spacing) is var k && k >= 2 && k <= 52 && Math.Abs(1 / spacing - k) < 0.01 * k)
            {
                return ((int)k, $"times {spacing:G3} apart ({k} per unit)");
            }
        }

        var best = (Period: 1, Score: double.NegativeInfinity);
        foreach (var m in Candidates)
        {
            var seasonal = series.Count(s => Lmu.MLNet.Forecasting.M4Naive2.IsSeasonal(s.Values, m));
            if (seasonal * 2 <= series.Count)
            {
                continue;
            }

            var score = series.Average(s => Autocorrelation(s.Values, m));
            if (score > best.Score)
            {
                best = (m, score);
            }
        }

        return best.Period > 1
            ? (best.Period, $"autocorrelation {best.Score:F2} at lag {best.Period}")
            : (1, "no seasonal period found");
    }

    /// <summary>
    /// Whether every series' dates fall on Monday to Friday, with at least two weeks of them in all (fewer may miss a
    /// weekend by chance). Times are days since 0001-01-01, a Monday.
    /// </summary>
    internal static bool BusinessDays(IReadOnlyList<ForecastSeriesData> series) =>
        series.Sum(s => s.Times?.Length ?? 0) >= 10
        && series.All(s => s.Times is null || s.Times.All(t => (long)Math.Floor(t) % 7 < 5));

    private static double Autocorrelation(double[] x, int lag)
    {
        if (x.Length <= lag)
        {
            return 0;
        }

        var mean = x.Average();
        double numerator = 0, denominator = 0;
        for (var t = 0; t < x.Length; t++)
        {
            denominator += (x[t] - mean) * (x[t] - mean);
            if (t >= lag)
            {
                numerator += (x[t] - mean) * (x[t - lag] - mean);
            }
        }

        return denominator > 0 ? numerator / denominator : 0;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }
}
