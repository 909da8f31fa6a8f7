using System.Globalization;

namespace Lmu.MLNet.Samples.Cli;

/// <summary>
/// The times of the steps <c>lmu forecast</c> forecasts, for forecast.csv: each series' last time moved on by its own
/// spacing, in the calendar's terms where the dates say which (hours, days, weekdays only, weeks, months, quarters, years),
/// else by the median step. forecast.csv said only "step 1..h", so which date a forecast was for had to be worked out
/// by hand (found by QA).
/// </summary>
internal static class FutureTimes
{
    /// <summary>The times of steps 1..<paramref name="horizon"/> after <paramref name="series"/>' last, as text; null without times.</summary>
    public static string[]? Of(ForecastSeriesData series, int horizon, bool businessDays)
    {
        if (series.Times is not { Length: > 1 } times)
        {
            return null;
        }

        var steps = times.Zip(times.Skip(1), (a, b) => b - a).Order().ToArray();
        var spacing = steps[steps.Length / 2];
        if (!series.Dates)
        {
            // Numbers (decimal years among them). Evenly spaced times continue the least-squares line through all of
            // them, and the result keeps the file's decimals: AirPassengers' times are 1/12 steps rounded to six
            // decimals, so neither the median step (0.083333) nor the last time (rounded up) can be stepped from:
            // 1961.916663 came out for 1961.916667 (docs QA). The line through 144 rounded times is off by far less
            // than the rounding. Ten decimals at most hide the sum's float64 rounding.
            var even = steps[0] > 0 && steps[^1] - steps[0] <= 1e-3 * spacing;
            Func<int, double> next = even ? Line(times) : k => times[^1] + (k * spacing);
            var decimals = Enumerable.Range(0, 11).First(d => d == 10 || times.All(t => Math.Abs(Math.Round(t, d) - t) <= 1e-14 * Math.Max(1, Math.Abs(t))));
            return [.. Enumerable.Range(1, horizon).Select(k => Math.Round(next(k), decimals).ToString("R", CultureInfo.InvariantCulture))];
        }

        var last = ToMillisecond(times[^1]);
        Func<int, DateTime> at = CalendarSteps.Of(spacing) switch
        {
            CalendarStep.Hour => k => last.AddHours(k),
            CalendarStep.Day when businessDays => k => Weekdays(last, k),
            CalendarStep.Day => k => last.AddDays(k),
            CalendarStep.Week => k => last.AddDays(7 * k),
            CalendarStep.Month => k => Months(last, k),
            CalendarStep.Quarter => k => Months(last, 3 * k),
            // Yearly dates stepped by the median 365 days fell a day early after each leap year (2020-12-31 for 2021-01-01).
            CalendarStep.Year => k => Months(last, 12 * k),
            _ => k => ToMillisecond(times[^1] + (k * spacing)),
        };
        if (series.Quarters)
        {
            // Whole quarters on (one, or four for yearly data written as 2010Q1, 2011Q1: 365 days on from 2016Q1 fell in
            // 2016Q4), written as the file wrote them.
            var quarters = Math.Max(1, (int)Math.Round(spacing / (365.2425 / 4)));
            return [.. Enumerable.Range(1, horizon).Select(k => last.AddMonths(3 * quarters * k)).Select(d => string.Create(CultureInfo.InvariantCulture, $"{d.Year}Q{((d.Month - 1) / 3) + 1}"))];
        }

        // Dates alone where every time is midnight, else the UTC time the times were read as.
        var format = times.All(t => ToMillisecond(t).TimeOfDay == TimeSpan.Zero) ? "yyyy-MM-dd" : "yyyy-MM-ddTHH:mm:ssZ";
        return [.. Enumerable.Range(1, horizon).Select(k => at(k).ToString(format, CultureInfo.InvariantCulture))];
    }

    // Days since 0001-01-01 as a time, to the millisecond: a day count near 739,000 holds a time of day only to about
    // 10 microseconds, so 23:45 came back as 23:44:59.99999 and printed as 23:44:59.
    private static DateTime ToMillisecond(double days) =>
        new(TimeSpan.TicksPerMillisecond * (long)Math.Round(days * TimeSpan.TicksPerDay / TimeSpan.TicksPerMillisecond), DateTimeKind.Utc);

    // The k-th weekday after the last date.
    private static DateTime Weekdays(DateTime last, int k)
    {
        var day = last;
        for (var left = k; left > 0;)
        {
            day = day.AddDays(1);
            left -= day.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday ? 0 : 1;
        }

        return day;
    }

    // Whole months on; a month's last day stays the last day (Jan 31 + 1 month is Feb 28 or 29, then Mar 31).
    private static DateTime Months(DateTime last, int months)
    {
        var moved = last.AddMonths(months);
        return last.Day == DateTime.DaysInMonth(last.Year, last.Month)
            ? new DateTime(moved.Year, moved.Month, DateTime.DaysInMonth(moved.Year, moved.Month), 0, 0, 0, DateTimeKind.Utc) + last.TimeOfDay
            : moved;
    }

    // The time k steps after the last on the least-squares line of time against index (offsets from the first time,
    // so the sums keep float64's precision).
    private static Func<int, double> Line(double[] times)
    {
        var n = times.Length;
        var meanIndex = (n - 1) / 2.0;
        var meanOffset = times.Average(t => t - times[0]);
        double covariance = 0, variance = 0;
        for (var i = 0; i < n; i++)
        {
            covariance += (i - meanIndex) * (times[i] - times[0] - meanOffset);
            variance += (i - meanIndex) * (i - meanIndex);
        }

        var slope = covariance / variance;
        return k => times[0] + meanOffset + (slope * (n - 1 + k - meanIndex));
    }
}
