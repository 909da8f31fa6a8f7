namespace Lmu.MLNet.Samples.Cli;

/// <summary>
/// The calendar unit a series of dates steps by, from the median spacing of its times in days: what both the
/// seasonality guess (hourly 24, daily 7, ...) and the future times of forecast.csv (an hour, a day, a month on) read,
/// so the two cannot disagree about a series.
/// </summary>
internal enum CalendarStep
{
    /// <summary>No calendar unit: the spacing is used as it is.</summary>
    None,

    /// <summary>About an hour (0.9 to 1.1 hours).</summary>
    Hour,

    /// <summary>About a day.</summary>
    Day,

    /// <summary>About a week.</summary>
    Week,

    /// <summary>27 to 32 days.</summary>
    Month,

    /// <summary>88 to 93 days.</summary>
    Quarter,

    /// <summary>364 to 367 days (no seasonality of its own; forecast.csv's times step by whole years).</summary>
    Year,
}

/// <summary>Reads a <see cref="CalendarStep"/> from a spacing.</summary>
internal static class CalendarSteps
{
    /// <summary>The step of times <paramref name="days"/> apart.</summary>
    public static CalendarStep Of(double days) => days switch
    {
        < 0.9 / 24 => CalendarStep.None,
        < 1.1 / 24 => CalendarStep.Hour,
        > 0.9 and < 1.1 => CalendarStep.Day,
        > 6.5 and < 7.5 => CalendarStep.Week,
        > 27 and < 32 => CalendarStep.Month,
        > 88 and < 93 => CalendarStep.Quarter,
        > 364 and < 367 => CalendarStep.Year,
        _ => CalendarStep.None,
    };
}
