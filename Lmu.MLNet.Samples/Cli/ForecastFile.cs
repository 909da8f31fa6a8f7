using System.Globalization;

namespace Lmu.MLNet.Samples.Cli;

/// <summary>
/// Reads the series of <c>lmu forecast</c> from delimited text. Long layout (the default): one observation per row,
/// the value column, optionally a series id column (many series stacked), a time column (rows are ordered by it
/// within each series; numbers or dates) and covariate columns. Wide layout: one series per row (an optional id
/// column, then the values; trailing empty fields end a shorter series), as the M4 files are. Every problem is an
/// <see cref="InvalidDataException"/> naming the file, the line and the column.
/// </summary>
internal static partial class ForecastFile
{
    /// <summary>How to read the file.</summary>
    public sealed record Layout(bool Wide, string? Value, string? SeriesId, string? Time, IReadOnlyList<string> Covariates, string Header);

    public static IReadOnlyList<ForecastSeriesData> Read(string path, Layout layout)
    {
        var file = DelimitedFile.Read(path);
        if (file.CommaDecimalWarning() is { } warning)
        {
            Console.Error.WriteLine(warning);
        }

        return layout.Wide ? Wide(file, layout) : Long(file, layout);
    }

    private static List<ForecastSeriesData> Long(DelimitedFile file, Layout layout)
    {
        if (layout.Value is null)
        {
            throw new ArgumentException("--value is required: the column holding the series' values (a header name or a 1-based column number).");
        }

        var references = new[] { layout.Value, layout.SeriesId, layout.Time }.OfType<string>().Concat(layout.Covariates).ToList();
        var valueGuess = int.TryParse(layout.Value, out var n) ? n - 1 : -1;
        var columns = Columns.Open(file, layout.Header, references, i => i == valueGuess);
        var value = columns.Resolve(layout.Value, "--value");
        var id = layout.SeriesId is null ? -1 : columns.Resolve(layout.SeriesId, "--series-id");
        var time = layout.Time is null ? -1 : columns.Resolve(layout.Time, "--time");
        var covariates = layout.Covariates.Select(c => columns.Resolve(c, "--covariates")).ToArray();
        // QA: the value column given as a covariate too was read twice without a word; an id or time column as a
        // covariate, or one covariate twice, is as surely a slip.
        var roles = new List<(int Column, string Option)> { (value, "--value") };
        roles.AddRange(new[] { (id, "--series-id"), (time, "--time") }.Where(r => r.Item1 >= 0));
        foreach (var c in covariates)
        {
            if (roles.FirstOrDefault(r => r.Column == c) is { Option: { } option })
            {
                throw new ArgumentException($"--covariates names {columns.Name(c)}, which {option} already reads; a covariate is another column, known with each observation.");
            }

            roles.Add((c, "--covariates"));
        }

        var groups = new Dictionary<string, List<(double Value, double[] Covariates, int Line, double Time)>>(StringComparer.Ordinal);
        var order = new List<string>();
        bool dates = false, numbers = false, zoned = false;
        var dayFirst = time < 0 ? null : DayFirst(columns, time);
        var compact = time >= 0 && CompactDates(columns, time);
        var quarters = time >= 0 && !compact && Quarters(columns, time);
        foreach (var record in columns.Data)
        {
            var fields = record.Fields;
            if (fields.Length != columns.Count)
            {
                var reference = columns.Header is null ? $"line {file.Records[0].Line}" : "the header";
                throw new InvalidDataException($"'{file.Path}' line {record.Line}: {fields.Length} columns, but {reference} has {columns.Count}; every row needs the same columns.");
            }

            var key = id < 0 ? string.Empty : fields[id];
            if (id >= 0 && key.Length == 0)
            {
                throw new InvalidDataException($"'{file.Path}' line {record.Line}, {columns.Name(id)}: the series id is empty.");
            }

            if (!groups.TryGetValue(key, out var rows))
            {
                groups[key] = rows = [];
                order.Add(key);
            }

            rows.Add((
                Number(columns, record, value, "value", covariates.Length > 0),
                covariates.Select(c => Number(columns, record, c, "covariate")).ToArray(),
                record.Line,
                time < 0 ? rows.Count
                    : compact ? CompactDate(record.Fields[time], ref dates)
                    : quarters && Quarter().IsMatch(record.Fields[time]) ? QuarterStart(record.Fields[time], ref dates)
                    : Time(columns, record, time, dayFirst, ref dates, ref numbers, ref zoned)));
        }

        return order.Select(key =>
        {
            var rows = groups[key];
            if (time >= 0)
            {
                rows = [.. rows.OrderBy(r => r.Time)];
                for (var i = 1; i < rows.Count; i++)
                {
                    if (rows[i].Time == rows[i - 1].Time)
                    {
                        throw new InvalidDataException(
                            $"'{file.Path}' line {rows[i].Line}, {columns.Name(time)}: the same time as line {rows[i - 1].Line}{(key.Length > 0 ? $" in series '{ForecastSeriesData.Shown(key)}'" : string.Empty)}; each series needs one row per time step" +
                            // QA: local clock times repeat the hour the clocks go back (Sao Paulo, Chatham); a file of dates
                            // without a time of day (hours in a column of their own) got that advice too (QA).
                            (!dates ? "."
                                : rows.All(r => r.Time == Math.Floor(r.Time))
                                    ? " (the times are dates without a time of day: for several readings a day, give the time column the time of day too, a date and an hour column combined as 2023-07-01T13:00)."
                                    : " (local clock times repeat an hour when daylight saving ends: write them with their UTC offset, as 2019-02-16T23:00-02:00, or in UTC)."));
                    }
                }
            }

            return new ForecastSeriesData(key, rows.Select(r => r.Value).ToArray(),
                Enumerable.Range(0, covariates.Length).Select(c => rows.Select(r => r.Covariates[c]).ToArray()).ToArray(),
                rows.Select(r => r.Line).ToArray(), time < 0 ? null : rows.Select(r => r.Time).ToArray(), dates, zoned, quarters);
        }).ToList();
    }

    private static List<ForecastSeriesData> Wide(DelimitedFile file, Layout layout)
    {
        if (layout.Covariates.Count > 0 || layout.Time is not null || layout.Value is not null)
        {
            throw new ArgumentException("--layout wide reads one series per row: --value, --time and --covariates apply to the long layout only.");
        }

        var idGuess = layout.SeriesId is not null && int.TryParse(layout.SeriesId, out var n) ? n - 1 : -1;
        var columns = Columns.Open(file, layout.Header, layout.SeriesId is null ? [] : [layout.SeriesId], i => i != idGuess);
        var id = layout.SeriesId is null ? -1 : columns.Resolve(layout.SeriesId, "--series-id");
        var series = new List<ForecastSeriesData>();
        var lines = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var record in columns.Data)
        {
            var fields = record.Fields;
            if (fields.Length > columns.Count)
            {
                throw new InvalidDataException($"'{file.Path}' line {record.Line}: {fields.Length} columns, but the first line has {columns.Count}.");
            }

            var values = new List<double>();
            var end = Array.FindLastIndex(fields, f => !Columns.IsMissing(f));
            for (var i = 0; i <= end; i++)
            {
                if (i != id)
                {
                    values.Add(Number(columns, record, i, "value"));
                }
            }

            var name = id >= 0 ? fields[id] : (series.Count + 1).ToString(CultureInfo.InvariantCulture);
            // QA: a repeated id trained the backtest, then failed with "Index was out of range" naming nothing; a row of
            // no values was named without its line.
            if (!lines.TryAdd(name, record.Line))
            {
                throw new InvalidDataException(
                    $"'{file.Path}' line {record.Line}: series '{ForecastSeriesData.Shown(name)}' is also on line {lines[name]}; in the wide layout each row is one series, so every id must differ.");
            }

            if (values.Count == 0)
            {
                throw new InvalidDataException($"'{file.Path}' line {record.Line}: series '{ForecastSeriesData.Shown(name)}' has no values.");
            }

            series.Add(new ForecastSeriesData(name, [.. values], [], Enumerable.Repeat(record.Line, values.Count).ToArray(), null));
        }

        return series;
    }

    private static double Number(Columns columns, DelimitedFile.Record record, int index, string what, bool withCovariates = false)
    {
        var field = record.Fields[index];
        if (Columns.IsMissing(field))
        {
            // QA: rows of known future covariates with empty values were told to "fill it in", though the model never reads
            // covariates beyond its input window.
            var future = withCovariates
                ? " If this row gives covariates for a future step, leave it out: the forecaster reads covariates over its input window only (their past values), never for the steps it forecasts."
                : string.Empty;
            throw new InvalidDataException(
                $"'{columns.File.Path}' line {record.Line}, {columns.Name(index)}: the {what} is missing; the forecaster needs every time step (fill it in or drop the series).{future}");
        }

        return double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) && Math.Abs(v) < float.MaxValue
            ? v
            : throw new InvalidDataException($"'{columns.File.Path}' line {record.Line}, {columns.Name(index)}: {DelimitedFile.NotANumber(field)}.");
    }

    /// <summary>
    /// The order of the column's dates of numbers with the year last (01.02.2015, 1/13/2015): day-first when one of them
    /// has a first number above 12, month-first when one has a second number above 12, null when none says (or none is
    /// such a date). The invariant culture read them all month-first, so monthly data dated day-first became daily
    /// without a word (found by QA).
    /// </summary>
    private static bool? DayFirst(Columns columns, int index)
    {
        DelimitedFile.Record? dayFirst = null, monthFirst = null;
        foreach (var record in columns.Data)
        {
            if (index < record.Fields.Length && DayMonthYear().Match(record.Fields[index]) is { Success: true } m)
            {
                dayFirst ??= int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) > 12 ? record : null;
                monthFirst ??= int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) > 12 ? record : null;
            }
        }

        if (dayFirst is not null && monthFirst is not null)
        {
            throw new InvalidDataException(
                $"'{columns.File.Path}' {columns.Name(index)}: line {dayFirst.Line} has '{dayFirst.Fields[index]}' (day first) and line {monthFirst.Line} " +
                $"'{monthFirst.Fields[index]}' (month first); write the dates one way, best year first as yyyy-MM-dd (ISO 8601).");
        }

        return dayFirst is not null ? true : monthFirst is not null ? false : null;
    }

    /// <summary>
    /// Whether every time of the column is a date written yyyyMMdd (eight digits, a valid date from year 1000): read as
    /// numbers, 20220131 and 20220201 were 70 apart, so a complete daily file warned of 23 gaps and got no daily
    /// seasonality (found by QA). A column of such numbers that are not all dates stays numbers.
    /// </summary>
    private static bool CompactDates(Columns columns, int index) =>
        columns.Data.Any() && columns.Data.All(r => index < r.Fields.Length && IsCompactDate(r.Fields[index], out _));

    private static bool IsCompactDate(string field, out DateTime date)
    {
        var text = field.Trim();
        date = default;
        return text.Length == 8 && text.All(char.IsAsciiDigit)
            && DateTime.TryParseExact(text, "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out date)
            && date.Year >= 1000;
    }

    private static double CompactDate(string field, ref bool dates)
    {
        IsCompactDate(field, out var date);
        dates = true;
        return date.Ticks / (double)TimeSpan.TicksPerDay;
    }

    /// <summary>
    /// Whether every time of the column is a quarter: 2010Q1 (how pandas writes a quarterly period), 2010-Q1, 2010 Q1 or
    /// Q1 2010. They were refused as "neither a number nor a date", so quarterly data (M4's, economic series) had to be
    /// rewritten as dates first. Read as the quarter's first day; forecast.csv writes the future times as quarters too.
    /// </summary>
    private static bool Quarters(Columns columns, int index) =>
        // Blank or missing times do not count against it: they get the missing-time message on their own line (review:
        // one blank time made the first good quarter "mixed" with the others).
        columns.Data.Any(r => index < r.Fields.Length && Quarter().IsMatch(r.Fields[index]))
        && columns.Data.All(r => index >= r.Fields.Length || r.Fields[index].Trim().Length == 0 || Quarter().IsMatch(r.Fields[index]));

    private static double QuarterStart(string field, ref bool dates)
    {
        var m = Quarter().Match(field);
        var (year, quarter) = m.Groups[1].Success ? (m.Groups[1].Value, m.Groups[2].Value) : (m.Groups[4].Value, m.Groups[3].Value);
        dates = true;
        var start = new DateTime(int.Parse(year, CultureInfo.InvariantCulture), (3 * (quarter[0] - '1')) + 1, 1, 0, 0, 0, DateTimeKind.Utc);
        return start.Ticks / (double)TimeSpan.TicksPerDay;
    }

    // A four-digit year from 1000 (as yyyyMMdd's), then Q1-Q4 after an optional '-', '_' or space; or the quarter first.
    [System.Text.RegularExpressions.GeneratedRegex(@"^\s*(?:([1-9][0-9]{3})[-_ ]?[Qq]([1-4])|[Qq]([1-4])[-_ ]?([1-9][0-9]{3}))\s*$")]
    private static partial System.Text.RegularExpressions.Regex Quarter();

    /// <summary>A time of day after a year-last date: 24-hour (13:00, 13:00:05) or 12-hour with AM/PM (1:00 PM, 12:00 AM = 00:00).</summary>
    private static bool TryTimeOfDay(string text, out TimeSpan time)
    {
        if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out time) && time >= TimeSpan.Zero && time < TimeSpan.FromDays(1))
        {
            return true;
        }

        string[] twelveHour = ["h:mm tt", "h:mm:ss tt", "hh:mm tt", "hh:mm:ss tt"];
        if (DateTime.TryParseExact(text, twelveHour, CultureInfo.InvariantCulture, DateTimeStyles.None, out var clock))
        {
            time = clock.TimeOfDay;
            return true;
        }

        time = TimeSpan.Zero;
        return false;
    }

    /// <summary>
    /// A time as a number: the number itself, or a date's days since 0001-01-01 (a year-last date read in the column's
    /// order, <paramref name="dayFirst"/>). A column mixing numbers and dates is refused: the numbers would sort as days
    /// of the first century, before every date (found by QA).
    /// </summary>
    /// <summary>A time of day written with its zone: "Z" or an offset (+02:00, -0300) after it (a date's "-13" is no zone).</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"[T ][0-9]{1,2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?\s*(Z|[+-][0-9]{2}(:?[0-9]{2})?)$", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex Zone();

    private static double Time(Columns columns, DelimitedFile.Record record, int index, bool? dayFirst, ref bool dates, ref bool numbers, ref bool zoned)
    {
        var field = record.Fields[index];
        if (double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number))
        {
            if (dates) throw Mixed(columns, record, index, field, "a number", "dates");
            numbers = true;
            return number;
        }

        // A date of numbers with the year last (01.02.2015, 1/2/2015) is day-first in most of the world and month-first in
        // the US; the invariant culture read it month-first, so monthly data became daily without a word (found by QA).
        if (DayMonthYear().Match(field) is { Success: true } dmy)
        {
            if (dayFirst is not { } order)
            {
                throw new InvalidDataException(
                    $"'{columns.File.Path}' line {record.Line}, {columns.Name(index)}: '{field}' does not say whether it is day-first or month-first, " +
                    "and no date of the column does (none has a day above 12); write the dates year first, as yyyy-MM-dd (ISO 8601).");
            }

            var (a, b) = (int.Parse(dmy.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(dmy.Groups[2].Value, CultureInfo.InvariantCulture));
            var (day, month) = order ? (a, b) : (b, a);
            var year = int.Parse(dmy.Groups[3].Value, CultureInfo.InvariantCulture);
            var rest = field[dmy.Length..].Trim();
            if (dmy.Groups[3].Value.Length != 4 || year < 1 || month > 12 || day > DateTime.DaysInMonth(year, Math.Max(1, month)) || day < 1 || month < 1)
            {
                throw new InvalidDataException(
                    $"'{columns.File.Path}' line {record.Line}, {columns.Name(index)}: '{field}' is not a date read {(order ? "day" : "month")} first with a four-digit year.");
            }

            var timeOfDay = TimeSpan.Zero;
            if (rest.Length > 0 && !TryTimeOfDay(rest, out timeOfDay))
            {
                // QA: "3/1/2021 12:00 AM" was refused as a date in the wrong order, where only its time was not read.
                throw new InvalidDataException(
                    $"'{columns.File.Path}' line {record.Line}, {columns.Name(index)}: '{field}' has the time of day '{rest}', which is neither " +
                    "HH:mm[:ss] nor h:mm[:ss] AM/PM.");
            }

            if (numbers) throw Mixed(columns, record, index, field, "a date", "numbers");
            dates = true;
            var at = new DateTime(year, month, day, 0, 0, 0, DateTimeKind.Utc) + timeOfDay;
            return at.Ticks / (double)TimeSpan.TicksPerDay;
        }

        if (DateTime.TryParse(field, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var date))
        {
            if (numbers) throw Mixed(columns, record, index, field, "a date", "numbers");
            dates = true;
            zoned |= Zone().IsMatch(field);
            return date.Ticks / (double)TimeSpan.TicksPerDay;
        }

        if (Quarter().IsMatch(field))
        {
            throw new InvalidDataException(
                $"'{columns.File.Path}' line {record.Line}, {columns.Name(index)}: '{field}' is a quarter, but other times of the column are not; write every time as a quarter (2010Q1) or every one as a date (2010-01-01).");
        }

        throw new InvalidDataException($"'{columns.File.Path}' line {record.Line}, {columns.Name(index)}: '{field}' is neither a number nor a date.");
    }

    // [0-9], not \d: \d matches any Unicode digit, which int.Parse then refused with a bare FormatException (QA: '١/١/٢٠٢٠').
    [System.Text.RegularExpressions.GeneratedRegex(@"^\s*([0-9]{1,2})[./-]([0-9]{1,2})[./-]([0-9]{2,4})\b")]
    private static partial System.Text.RegularExpressions.Regex DayMonthYear();

    private static InvalidDataException Mixed(Columns columns, DelimitedFile.Record record, int index, string field, string kind, string earlier) =>
        new($"'{columns.File.Path}' line {record.Line}, {columns.Name(index)}: '{field}' is {kind}, but the times before it are {earlier}; the time column must hold one kind.");
}
