using System.Globalization;
using Lmu.MLNet.Samples.Cli;
using Lmu.MLNet.Samples.Terminal;
using Lmu.MLNet.Tests.Infrastructure;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>
/// lmu classify/forecast's readers and helpers in-process: what a file becomes (lengths, labels, order, header
/// detection), the seasonality guess, the seasonal naive forecast, stratified folds and the confusion table, each
/// against values written out by hand.
/// </summary>
[TestClass]
public sealed class CliReaderTests
{
    private string _temp = string.Empty;

    [TestInitialize]
    public void MakeTemp()
    {
        _temp = Path.Combine(Path.GetTempPath(), "lmu-cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_temp);
    }

    [TestCleanup]
    public void RemoveTemp() => Directory.Delete(_temp, recursive: true);

    [TestMethod]
    public void AUcrStyleTsvHasNoHeaderAndTrailingNaNsShortenARow()
    {
        // UCR's layout: label first, tab separated, a shorter series padded with NaN; labels written as 1.0 / 2.
        var path = Write("x.tsv", "1.0\t0.5\t1.5\t2.5\n2\t3\t4\tNaN\n1\t-1\t-2\t-3\n2\t5\t6\t\n");
        var loaded = ClassificationFile.Read(path, new ClassificationFile.Layout("1", "auto", 1));
        var rows = loaded.Data.Rows;
        CollectionAssert.AreEqual(new[] { "1", "2" }, loaded.Data.ClassLabels.ToArray());
        CollectionAssert.AreEqual(new[] { "1", "2", "1", "2" }, rows.Select(r => r.Label).ToArray());
        CollectionAssert.AreEqual(new[] { 3, 2, 3, 2 }, rows.Select(r => r.Length).ToArray());
        CollectionAssert.AreEqual(new[] { 3f, 4f }, rows[1].Values);
        CollectionAssert.AreEqual(new[] { 1, 2, 3, 4 }, loaded.Lines);
        Assert.IsNull(loaded.LabelNote, "1.0 and 1 are one number written two ways");
    }

    [TestMethod]
    public void TheSeparatorIsChosenFromTheFirstRecordsAndASpreadsheetsSepLine()
    {
        // QA: a ';' file whose header held "Umsatz, EUR" (as German spreadsheets write it, unquoted) was read as
        // comma-separated, and a spreadsheet's "sep=;" first line was read as the header.
        (char, string[]) Read(string name, string text)
        {
            var file = DelimitedFile.Read(Write(name, text));
            return (file.Delimiter, file.Records[0].Fields);
        }

        var (delimiter, header) = Read("de-int.csv", "Datum;Umsatz, EUR;Aktion\n2023-01-01;125;0\n2023-01-02;130;1\n");
        Assert.AreEqual(';', delimiter);
        CollectionAssert.AreEqual(new[] { "Datum", "Umsatz, EUR", "Aktion" }, header);
        // With decimal commas ',' splits every line in two as well: the separator with more fields wins.
        (delimiter, header) = Read("de-dec.csv", "Datum;Umsatz, EUR;Aktion\n2023-01-01;12,5;0\n2023-01-02;13,5;1\n");
        Assert.AreEqual(';', delimiter);
        CollectionAssert.AreEqual(new[] { "Datum", "Umsatz, EUR", "Aktion" }, header);
        // Review: headerless lines of two decimal-comma numbers have more commas than semicolons.
        (delimiter, header) = Read("headerless.csv", "1949,000;219,0\n1949,083;218,5\n1949,167;220,1\n");
        Assert.AreEqual(';', delimiter);
        CollectionAssert.AreEqual(new[] { "1949,000", "219,0" }, header);
        (delimiter, header) = Read("sep.csv", "sep=;\nDatum;Wert\n2023-01-01;1\n");
        Assert.AreEqual(';', delimiter);
        CollectionAssert.AreEqual(new[] { "Datum", "Wert" }, header);
        (delimiter, header) = Read("sep-quoted.txt", "\"sep=,\"\nt,v\n1,2\n");
        Assert.AreEqual(',', delimiter);
        CollectionAssert.AreEqual(new[] { "t", "v" }, header);

        // What stays comma-separated: ';' inside text fields, rows of different lengths, a lone field.
        Assert.AreEqual(',', Read("tags.csv", "id,tags\n1,a;b\n2,c;d\n").Item1);
        Assert.AreEqual(',', Read("ragged.csv", "label,v\na,1,2,3\nb,1,2\n").Item1);
        Assert.AreEqual(',', Read("one.csv", "v\n1\n2\n").Item1);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => Columns.Open(DelimitedFile.Read(Write("named.csv", "Datum;Wert\n2023-01-01;1\n")), "auto", ["Umsatz"], _ => false).Resolve("Umsatz", "--value"));
        StringAssert.Contains(e.Message, "the columns are Datum, Wert (separated by ';')");
    }

    [TestMethod]
    public void RunsOfSpacesSeparateFieldsWhenNothingElseDoes()
    {
        // NumPy's savetxt writes fields separated by one space, the old UCR archive's .txt files by runs of spaces with
        // spaces in front: both were read as one field a line.
        DelimitedFile Read(string name, string text) => DelimitedFile.Read(Write(name, text));
        var numpy = Read("savetxt.txt", "1.000000000000000000e+00 2.500000000000000000e-01 -3.000000000000000000e+00\n2.0e+00 5.0e-01 NA\n");
        Assert.AreEqual(DelimitedFile.Spaces, numpy.Delimiter);
        Assert.AreEqual("spaces", numpy.SeparatorName);
        CollectionAssert.AreEqual(new[] { "1.000000000000000000e+00", "2.500000000000000000e-01", "-3.000000000000000000e+00" }, numpy.Records[0].Fields);
        CollectionAssert.AreEqual(new[] { "2.0e+00", "5.0e-01", "NA" }, numpy.Records[1].Fields);
        var ucr = Read("ucr.txt", "   1.0000000e+00  -1.2345000e+00   2.0000000e-01\n   2.0000000e+00   1.0000000e-01  -2.0000000e-01\n");
        CollectionAssert.AreEqual(new[] { "2.0000000e+00", "1.0000000e-01", "-2.0000000e-01" }, ucr.Records[1].Fields);
        var headed = Read("headed.txt", "label  x1 x2\nwalk 0.5 1\nrun  1.5 2\n");
        CollectionAssert.AreEqual(new[] { "label", "x1", "x2" }, headed.Records[0].Fields);
        CollectionAssert.AreEqual(new[] { "run", "1.5", "2" }, headed.Records[2].Fields);
        var e = Assert.ThrowsExactly<ArgumentException>(() => Columns.Open(headed, "auto", ["4"], _ => true));
        StringAssert.Contains(e.Message, "the lines have 3 fields (separated by spaces)");

        // Not spaces: a column of names with spaces in them, lines of different lengths, a quoted field, a comma file.
        Assert.AreEqual(',', Read("cities.csv", "New York\nSan Francisco\n").Delimiter);
        Assert.AreEqual(',', Read("ragged.txt", "1 2 3\n4 5\n").Delimiter);
        Assert.AreEqual(',', Read("quoted.txt", "\"a b\" 1\n\"c d\" 2\n").Delimiter);
        Assert.AreEqual(',', Read("comma.csv", "t, v\n1, 2\n").Delimiter);
        Assert.AreEqual('\t', Read("tabs.tsv", "a b\tc\n1 2\t3\n").Delimiter);
        // A quoted field below the sampled lines cannot be split at spaces: named.
        var late = string.Concat(Enumerable.Range(0, DelimitedFile.SniffRecords).Select(i => $"{i} {i}\n")) + "\"x y\" 1\n";
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => Read("late.txt", late)).Message,
            $"line {DelimitedFile.SniffRecords + 1}: a quoted field in a file whose fields are separated by spaces");
    }

    [TestMethod]
    public void ForecastsThatOverflowFloat32AreWarnedOfWhenWritten()
    {
        // QA: a series near float32's maximum gave forecasts of Infinity, written to forecast.csv without a word.
        var series = new[] { new ForecastSeriesData("a", [1, 2], [], [2, 3], null) };
        var path = Path.Combine(_temp, "forecast.csv");
        string Written(ForecastScoring.Scored scored)
        {
            var error = Console.Error;
            using var captured = new StringWriter();
            Console.SetError(captured);
            try
            {
                ForecastScoring.WriteForecasts(path, series, [scored]);
                return captured.ToString();
            }
            finally
            {
                Console.SetError(error);
            }
        }

        StringAssert.Contains(
            Written(new([3e38, double.PositiveInfinity], [2e38, 3e38], [double.PositiveInfinity, double.PositiveInfinity])),
            "warning: 3 forecast or bound value(s) in forecast.csv are not finite");
        Assert.AreEqual(string.Empty, Written(new([1, 2], [0, 1], [2, 3])), "finite forecasts are not warned of");

        StringAssert.StartsWith(File.ReadAllLines(path)[1], "a,1,1,0,2");
    }

    [TestMethod]
    public void ANumberBeyondFloat32IsNamedAsSuch()
    {
        // QA: "'1.025800e+39' is not a finite number" for a finite number the float32 values cannot hold.
        Assert.AreEqual("'1.025800e+39' is not a finite number in float32, which the values are read as: its magnitude is beyond about 3.4e38; rescale the column", DelimitedFile.NotANumber("1.025800e+39"));
        Assert.AreEqual("'abc' is not a finite number", DelimitedFile.NotANumber("abc"));
        // QA: other programs' words for a missing value got no hint.
        foreach (var missing in new[] { "null", "NULL", "None", "N/A", "#N/A", "-" })
        {
            Assert.AreEqual($"'{missing}' is not a finite number (a missing value is written as an empty field, NA, NaN or ?)", DelimitedFile.NotANumber(missing));
        }

        Assert.AreEqual("'Infinity' is not a finite number", DelimitedFile.NotANumber("Infinity"));
    }

    [TestMethod]
    public void LabelCodesThatAreOneNumberAreReadAsOneClassAndNamed()
    {
        var path = Write("codes.csv", "01,0.5,1.5\n1,3,4\n2,5,6\n+2,1,2\n002,7,8\n3,1,1\n");
        var loaded = ClassificationFile.Read(path, new ClassificationFile.Layout("1", "no", 1));
        CollectionAssert.AreEqual(new[] { "1", "2", "3" }, loaded.Data.ClassLabels.ToArray());
        Assert.IsNotNull(loaded.LabelNote);
        StringAssert.Contains(loaded.LabelNote, "'01', '1' as '1'");
        StringAssert.Contains(loaded.LabelNote, "'+2', '002', '2' as '2'");
        StringAssert.Contains(loaded.LabelNote, "column 1");
        Assert.DoesNotContain("'3'", loaded.LabelNote, "a code written one way is not named");
    }

    [TestMethod]
    public void BytesThatAreNotUtf8AreRefusedNamingTheLineNotMergedIntoOneClass()
    {
        // Found by QA: Latin-1 "café" and "cafè" both decoded to "caf\uFFFD": one class of both, trained without a word.
        var latin1 = Path.Combine(_temp, "latin1.csv");
        File.WriteAllBytes(latin1, [.. "label,a,b\ntea,1,2\n"u8, .. "caf"u8, 0xE9, .. ",3,4\n"u8, .. "caf"u8, 0xE8, .. ",5,6\n"u8]);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => DelimitedFile.Read(latin1));
        StringAssert.Contains(e.Message, $"'{latin1}' line 3: byte 0xE9 is not UTF-8 text");
        // The UCR loaders (.tsv, .ts) read through the same check (a Latin-1 .ts file failed later on a duplicate key).
        var tsv = Path.Combine(_temp, "latin1.tsv");
        File.WriteAllBytes(tsv, [.. "tea\t1\t2\n"u8, .. "caf"u8, 0xE9, .. "\t3\t4\n"u8]);
        e = Assert.ThrowsExactly<InvalidDataException>(() => Lmu.MLNet.Data.UcrLoader.LoadTsv(tsv));
        StringAssert.Contains(e.Message, $"'{tsv}' line 2: byte 0xE9 is not UTF-8 text");
        Assert.DoesNotContain("NUL", e.Message);
        // UTF-16 without its byte-order mark: named as a likely cause.
        var utf16 = Path.Combine(_temp, "utf16.csv");
        File.WriteAllBytes(utf16, System.Text.Encoding.Unicode.GetBytes("label,a\ntea,1\ncafé,2\n"));
        e = Assert.ThrowsExactly<InvalidDataException>(() => DelimitedFile.Read(utf16));
        StringAssert.Contains(e.Message, "byte 0xE9 is not UTF-8 text. The file holds NUL bytes, as UTF-16 text without its byte-order mark does.");

        // All-ASCII UTF-16 without its mark decodes as UTF-8 with a NUL beside every letter (QA: the columns were listed
        // as "t^@i^@m^@e^@"): refused on its first line, for the UCR loaders too.
        var ascii16 = Path.Combine(_temp, "ascii16.csv");
        File.WriteAllBytes(ascii16, System.Text.Encoding.Unicode.GetBytes("time,value\n1,2\n"));
        e = Assert.ThrowsExactly<InvalidDataException>(() => DelimitedFile.Read(ascii16));
        StringAssert.StartsWith(e.Message, $"'{ascii16}' line 1 holds NUL characters, as UTF-16 text without its byte-order mark does, or a file that is not text.");
        var ascii16Tsv = Path.Combine(_temp, "ascii16.tsv");
        File.WriteAllBytes(ascii16Tsv, System.Text.Encoding.Unicode.GetBytes("1\t2\t3\n"));
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => Lmu.MLNet.Data.UcrLoader.LoadTsv(ascii16Tsv)).Message, "holds NUL characters");

        // UTF-8 (with or without its mark) and UTF-16 with its mark read as text, the accents kept apart.
        foreach (var encoding in new System.Text.Encoding[] { new System.Text.UTF8Encoding(true), new System.Text.UTF8Encoding(false), System.Text.Encoding.Unicode })
        {
            var path = Path.Combine(_temp, "text.csv");
            File.WriteAllText(path, "label,a,b\ntea,1,2\ncafé,3,4\ncafè,5,6\n", encoding);
            var labels = DelimitedFile.Read(path).Records.Skip(1).Select(r => r.Fields[0]).ToArray();
            CollectionAssert.AreEqual(new[] { "tea", "café", "cafè" }, labels, encoding.EncodingName);
        }
    }

    [TestMethod]
    public void HashLinesAreCommentsAtTheTopOnlyAndDataAfterTheFirstRecord()
    {
        // A label "#walk" dropped every row of its class while any line starting with '#' was a comment (found by QA).
        var path = Write("h.csv", "# made by a logger\n#  version 2\nlabel,a,b\nrun,1,2\n#walk,3,4\nrun,5,6\n#walk,7,8\n");
        var loaded = ClassificationFile.Read(path, new ClassificationFile.Layout("label", "auto", 1));
        CollectionAssert.AreEqual(new[] { "run", "#walk", "run", "#walk" }, loaded.Data.Rows.Select(r => r.Label).ToArray());
        CollectionAssert.AreEqual(new[] { 4, 5, 6, 7 }, loaded.Lines);
    }

    [TestMethod]
    public void AHeaderIsFoundAndTheLabelCanBeAnyColumnWithStepMajorChannels()
    {
        // Two channels, label in the middle column by name: values t0a,t0b,t1a,t1b around it.
        var path = Write("x.csv", "t0a,t0b,kind,t1a,t1b\n1,2,walk,3,4\n5,6,run,7,8\n");
        var loaded = ClassificationFile.Read(path, new ClassificationFile.Layout("kind", "auto", 2));
        Assert.AreEqual(2, loaded.Data.Channels);
        CollectionAssert.AreEqual(new[] { 1f, 2f, 3f, 4f }, loaded.Data.Rows[0].Values);
        Assert.AreEqual(2, loaded.Data.Rows[0].Length);
        Assert.AreEqual("run", loaded.Data.Rows[1].Label);
        Assert.AreEqual("column 3 ('kind')", loaded.LabelColumn);
        CollectionAssert.AreEqual(new[] { 2, 3 }, loaded.Lines, "the header is line 1");
    }

    [TestMethod]
    public void SemicolonFilesAreSplitOnSemicolonsAndADecimalCommaIsNamed()
    {
        // A spreadsheet's ';'-separated ".csv" was read as one column per row (found by QA).
        var loaded = ClassificationFile.Read(Write("s.csv", "a;1;2;3\nb;4;5;6\na;7;8;9\n"), new ClassificationFile.Layout("1", "auto", 1));
        CollectionAssert.AreEqual(new[] { 4f, 5f, 6f }, loaded.Data.Rows[1].Values);

        // With decimal commas the first line is still data, and the error says what the comma is.
        var path = Write("d.csv", "a;1,5;2;3\nb;4;5,25;6\n");
        var e = Assert.Throws<InvalidDataException>(() => ClassificationFile.Read(path, new ClassificationFile.Layout("1", "auto", 1)));
        Assert.AreEqual($"'{path}' line 1, column 2: '1,5' is not a finite number (a decimal comma: numbers are read with '.' as the decimal mark).", e.Message);

        // Commas that are not decimal commas keep the comma as the delimiter.
        Assert.AreEqual(',', DelimitedFile.Read(Write("c.csv", "a,x;y,1\n")).Delimiter);
    }

    [TestMethod]
    public void APandasIndexColumnIsRefusedAndANumberThatIsAlsoAHeaderNameIsAmbiguous()
    {
        // pandas' to_csv writes an unnamed index column and numbers the value columns 0, 1, 2, ...: the default
        // --label 1 resolved to the header name "1" and the index was read as a value of each series (found by QA).
        var indexed = Write("p.csv", ",label,0,1,2\n0,a,1,2,3\n1,b,4,5,6\n2,a,7,8,9\n");
        var e = Assert.Throws<InvalidDataException>(() => ClassificationFile.Read(indexed, new ClassificationFile.Layout("1", "auto", 1)));
        StringAssert.StartsWith(e.Message, $"'{indexed}' line 1 (header): column 1 has no name and counts the rows (0, 1, 2, ...), like the index pandas writes");

        var numbered = Write("n.csv", "label,0,1,2\na,1,2,3\nb,4,5,6\n");
        e = Assert.Throws<InvalidDataException>(() => ClassificationFile.Read(numbered, new ClassificationFile.Layout("2", "yes", 1)));
        Assert.AreEqual($"'{numbered}' line 1 (header): --label '2' is both column 2 and the name of column 4; give the column's header name instead (the columns are label, 0, 1, 2).", e.Message);
        Assert.AreEqual("column 1 ('label')", ClassificationFile.Read(numbered, new ClassificationFile.Layout("label", "auto", 1)).LabelColumn);

        // An unnamed first column that is not a row count is a column like any other.
        var unnamed = Write("u.csv", ",v1,v2\na,1,2\nb,3,4\n");
        Assert.AreEqual("column 1", ClassificationFile.Read(unnamed, new ClassificationFile.Layout("1", "yes", 1)).LabelColumn);
    }

    [TestMethod]
    public void AHalfFilledLastStepIsAHoleNotAShorterRow()
    {
        var path = Write("x.csv", "a,1,2,3,\nb,1,2,3,4\n");
        var e = Assert.ThrowsExactly<InvalidDataException>(() => ClassificationFile.Read(path, new ClassificationFile.Layout("1", "auto", 2)));
        StringAssert.Contains(e.Message, $"'{path}' line 1, column 5: a missing value inside the series");
    }

    [TestMethod]
    public void ATimeColumnMixingNumbersAndDatesIsRefusedAndGapsAreCounted()
    {
        // Mixed: the numbers sorted as days of the first century, ahead of every date (found by QA).
        var layout = new ForecastFile.Layout(false, "v", null, "date", [], "auto");
        var mixed = Write("m.csv", "date,v\n2024-01-01,1\n2024-01-02,2\n45000,3\n");
        var e = Assert.ThrowsExactly<InvalidDataException>(() => ForecastFile.Read(mixed, layout));
        StringAssert.Contains(e.Message, $"'{mixed}' line 4");
        StringAssert.Contains(e.Message, "'45000' is a number, but the times before it are dates");

        // A 10-day gap in daily data, and a series without one.
        var days = Enumerable.Range(0, 6).Select(i => new DateTime(2024, 1, 1).AddDays(i < 3 ? i : i + 9)).ToArray();
        var gappy = Write("g.csv", "date,v\n" + string.Concat(days.Select((d, i) => $"{d:yyyy-MM-dd},{i}\n")));
        Assert.AreEqual((1, 5, 10.0), ForecastFile.Read(gappy, layout)[0].Gaps(), "one gap, before line 5, of 10 steps");
        var even = Write("e.csv", "date,v\n2024-01-01,1\n2024-01-02,2\n2024-01-03,3\n2024-01-04,4\n");
        Assert.AreEqual((0, 0, 0.0), ForecastFile.Read(even, layout)[0].Gaps());
        Assert.IsFalse(ForecastFile.Read(gappy, layout)[0].FirstGapIsAClockHour(), "a 10-day gap of daily data is no clock change");

        // Hourly and quarter-hourly local times across the spring clock change skip one hour (02:00 on 2019-03-31 in
        // Europe); a gap of two missing hours, or numbers, is not that hour.
        foreach (var (minutes, skipped, expected) in new[] { (60, 60, true), (15, 60, true), (60, 120, false), (15, 30, false) })
        {
            var start = new DateTime(2019, 3, 31, 0, 0, 0);
            var times = Enumerable.Range(0, 12).Select(i => start.AddMinutes(i * minutes + (i >= 6 ? skipped : 0))).ToArray();
            var local = Write($"dst{minutes}-{skipped}.csv", "date,v\n" + string.Concat(times.Select((d, i) => $"{d:yyyy-MM-ddTHH:mm:ss},{i}\n")));
            var series = ForecastFile.Read(local, layout)[0];
            Assert.AreEqual(1, series.Gaps().Count, $"{minutes}-minute data with {skipped} minutes skipped");
            Assert.AreEqual(expected, series.FirstGapIsAClockHour(), $"{minutes}-minute data with {skipped} minutes skipped");
        }

        // Review: a missing hourly reading in July, or in UTC times, is no clock change.
        foreach (var (start, format) in new[] { (new DateTime(2024, 7, 13), "yyyy-MM-ddTHH:mm:ss"), (new DateTime(2019, 3, 31), "yyyy-MM-ddTHH:mm:ssZ"), (new DateTime(2019, 3, 31), "yyyy-MM-dd HH:mm:ss+01:00") })
        {
            var times = Enumerable.Range(0, 12).Select(i => start.AddHours(i + (i >= 6 ? 1 : 0))).ToArray();
            var file = Write("other.csv", "date,v\n" + string.Concat(times.Select((d, i) => $"{d.ToString(format, CultureInfo.InvariantCulture)},{i}\n")));
            var series = ForecastFile.Read(file, layout)[0];
            Assert.AreEqual(1, series.Gaps().Count, format);
            Assert.IsFalse(series.FirstGapIsAClockHour(), $"{start:MMMM} {format}");
        }

        var numbered = Write("n.csv", "t,v\n" + string.Concat(new[] { 0.0, 1, 2, 3, 5, 6 }.Select((t, i) => $"{t / 24},{i}\n")));
        Assert.IsFalse(ForecastFile.Read(numbered, layout with { Time = "t" })[0].FirstGapIsAClockHour(), "numbers are no clock times");

        // yyyyMMdd dates are dates (QA: read as numbers, 20220131 and 20220201 were 70 apart: 23 false gaps, no daily m).
        var compact = Write("c.csv", "date,v\n" + string.Concat(Enumerable.Range(0, 60).Select(i => $"{new DateTime(2022, 1, 1).AddDays(i):yyyyMMdd},{i % 7}\n")));
        var read = ForecastFile.Read(compact, layout)[0];
        Assert.IsTrue(read.Dates);
        Assert.AreEqual((0, 0, 0.0), read.Gaps());
        Assert.AreEqual(7, Seasonality.Guess([read]).Period);
        // A row of future covariates without a value says why it cannot be used (QA: it was told to "fill it in").
        var withCovariates = new ForecastFile.Layout(false, "v", null, "date", ["promo"], "auto");
        var future = Write("f.csv", "date,v,promo\n2024-01-01,1,0\n2024-01-02,2,1\n2024-01-03,,1\n");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => ForecastFile.Read(future, withCovariates)).Message,
            "line 4, column 2 ('v'): the value is missing; the forecaster needs every time step (fill it in or drop the series). If this row gives covariates for a future step, leave it out");
        Assert.DoesNotContain("future step", Assert.ThrowsExactly<InvalidDataException>(() => ForecastFile.Read(future, layout)).Message, "no covariates, no such hint");

        // Eight-digit numbers that are not all dates stay numbers.
        var numbers = Write("n.csv", "date,v\n20220130,1\n20220131,2\n20220132,3\n");
        Assert.IsFalse(ForecastFile.Read(numbers, layout)[0].Dates);

        // Quarters as pandas writes them (2010Q1) were refused as "neither a number nor a date": now the quarter's first
        // day, quarterly seasonality, and future times written as quarters. Rows out of order are sorted as dates.
        var labels = Enumerable.Range(0, 24).Select(q => $"{2010 + (q / 4)}Q{(q % 4) + 1}").ToArray();
        var quarterly = Write("q.csv", "date,v\n" + string.Concat(labels.Select((l, i) => (l, i)).Reverse().Select(p => $"{p.l},{p.i % 4}\n")));
        var byQuarter = ForecastFile.Read(quarterly, layout)[0];
        Assert.IsTrue(byQuarter.Dates && byQuarter.Quarters);
        Assert.AreEqual(new DateTime(2010, 4, 1).Ticks / (double)TimeSpan.TicksPerDay, byQuarter.Times![1]);
        CollectionAssert.AreEqual(Enumerable.Range(0, 24).Select(i => (double)(i % 4)).ToArray(), byQuarter.Values, "in time order");
        Assert.AreEqual((0, 0, 0.0), byQuarter.Gaps());
        Assert.AreEqual(4, Seasonality.Guess([byQuarter]).Period);
        CollectionAssert.AreEqual(new[] { "2016Q1", "2016Q2", "2016Q3", "2016Q4", "2017Q1" }, FutureTimes.Of(byQuarter, 5, businessDays: false));
        var yearly = ForecastFile.Read(Write("yq.csv", "date,v\n" + string.Concat(Enumerable.Range(2010, 7).Select(y => $"{y}Q2,{y}\n"))), layout)[0];
        CollectionAssert.AreEqual(new[] { "2017Q2", "2018Q2", "2019Q2", "2020Q2", "2021Q2" }, FutureTimes.Of(yearly, 5, businessDays: false), "yearly data stays in its quarter");
        // Review: half-yearly quarters step by two quarters (a median 181-184 days drifted into the wrong quarter).
        var halves = ForecastFile.Read(Write("hq.csv", "date,v\n" + string.Concat(Enumerable.Range(0, 8).Select(i => $"{2010 + (i / 2)}Q{1 + (2 * (i % 2))},{i}\n"))), layout)[0];
        var next = FutureTimes.Of(halves, 24, businessDays: false)!;
        CollectionAssert.AreEqual(new[] { "2014Q1", "2014Q3", "2015Q1" }, next[..3]);
        CollectionAssert.AreEqual(new[] { "2025Q1", "2025Q3" }, next[^2..], "no drift after 12 years");
        // Review: a blank time among quarters is named on its own line, as among dates.
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => ForecastFile.Read(Write("bq.csv", "date,v\n2010Q1,1\n,2\n2010Q3,3\n"), layout)).Message,
            "line 3, column 1 ('date'): '' is neither a number nor a date");
        foreach (var (first, second) in new[] { ("2010-Q1", "2010-Q2"), ("2010 q1", "2010 q2"), ("Q1 2010", "Q2 2010"), ("Q1-2010", "Q2-2010") })
        {
            var read2 = ForecastFile.Read(Write("o.csv", $"date,v\n{second},2\n{first},1\n"), layout)[0];
            Assert.IsTrue(read2.Quarters, first);
            CollectionAssert.AreEqual(new[] { new DateTime(2010, 1, 1), new DateTime(2010, 4, 1) }.Select(d => d.Ticks / (double)TimeSpan.TicksPerDay).ToArray(), read2.Times, first);
        }

        var mixedQuarters = Write("m.csv", "date,v\n2010Q1,1\n2010-04-01,2\n");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => ForecastFile.Read(mixedQuarters, layout)).Message,
            "line 2, column 1 ('date'): '2010Q1' is a quarter, but other times of the column are not; write every time as a quarter (2010Q1) or every one as a date (2010-01-01).");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => ForecastFile.Read(Write("y.csv", "date,v\n2010Q5,1\n"), layout)).Message,
            "'2010Q5' is neither a number nor a date");
    }

    [TestMethod]
    public void ARepeatedTimeOfDatesHintsAtDaylightSaving()
    {
        // Found by QA: local clock times across the end of daylight saving (Sao Paulo 2019-02-16 23:00 twice) were
        // refused as "the same time" with no hint of why.
        var layout = new ForecastFile.Layout(false, "v", null, "t", [], "auto");
        var local = Write("dst.csv", "t,v\n2019-02-16 22:00,1\n2019-02-16 23:00,2\n2019-02-16 23:00,3\n2019-02-17 00:00,4\n");
        var e = Assert.ThrowsExactly<InvalidDataException>(() => ForecastFile.Read(local, layout));
        StringAssert.Contains(e.Message, $"'{local}' line 4, column 1 ('t'): the same time as line 3; each series needs one row per time step (local clock times repeat an hour when daylight saving ends");
        // Step numbers have no clock: no such hint.
        var steps = Write("steps.csv", "t,v\n1,1\n2,2\n2,3\n");
        e = Assert.ThrowsExactly<InvalidDataException>(() => ForecastFile.Read(steps, layout));
        StringAssert.EndsWith(e.Message, "the same time as line 3; each series needs one row per time step.");
        // Dates without a time of day have no clock to go back either (QA: an hour column beside a date column).
        var days = Write("days.csv", "t,hour,v\n2023-07-01,0,1\n2023-07-01,1,2\n");
        e = Assert.ThrowsExactly<InvalidDataException>(() => ForecastFile.Read(days, layout));
        StringAssert.EndsWith(e.Message, "the same time as line 2; each series needs one row per time step (the times are dates without a time of day: for several readings a day, give the time column the time of day too, a date and an hour column combined as 2023-07-01T13:00).");
    }

    [TestMethod]
    public void AColumnGivenBothAsTheValueAndAsACovariateIsRefused()
    {
        // QA: --covariates value (the --value column) was accepted and the series fed to the model twice.
        var path = Write("c.csv", "date,v,promo\n2024-01-01,1,0\n2024-01-02,2,1\n2024-01-03,3,0\n");
        foreach (var (covariates, option) in new[] { ("v", "--value"), ("date", "--time"), ("promo", "--covariates") })
        {
            var layout = new ForecastFile.Layout(false, "v", null, "date", covariates == "promo" ? ["promo", "promo"] : [covariates], "auto");
            var e = Assert.ThrowsExactly<ArgumentException>(() => ForecastFile.Read(path, layout));
            StringAssert.Contains(e.Message, $"which {option} already reads");
        }

        Assert.HasCount(1, ForecastFile.Read(path, new ForecastFile.Layout(false, "v", null, "date", ["promo"], "auto")));
    }

    [TestMethod]
    public void DatesWithTheYearLastAreReadInTheOrderTheColumnShows()
    {
        // The invariant culture read 01.02.2015 month-first, so day-first monthly data became daily (found by QA); a
        // column with a day above 12 shows its order, one without any is refused.
        var layout = new ForecastFile.Layout(false, "v", null, "date", [], "auto");
        var days = Enumerable.Range(0, 20).Select(i => new DateTime(2024, 1, 5).AddDays(i)).ToArray();
        foreach (var (format, name) in new[] { ("dd.MM.yyyy", "dmy.csv"), ("M/d/yyyy", "mdy.csv"), ("dd-MM-yyyy HH:mm", "dmyt.csv") })
        {
            var path = Write(name, "date,v\n" + string.Concat(days.Select((d, i) => $"{d.ToString(format, CultureInfo.InvariantCulture)},{i}\n")));
            var series = ForecastFile.Read(path, layout)[0];
            CollectionAssert.AreEqual(days.Select(d => d.Ticks / (double)TimeSpan.TicksPerDay).ToArray(), series.Times, format);
        }

        // US times with AM/PM (QA: refused as a date in the wrong order), every 7.5 hours from 12:00 AM (midnight).
        var hours = Enumerable.Range(0, 60).Select(i => new DateTime(2021, 3, 1).AddHours(i * 7.5)).ToArray();
        var ampm = Write("ampm.csv", "date,v\n" + string.Concat(hours.Select((d, i) => $"{d.ToString("M/d/yyyy h:mm tt", CultureInfo.InvariantCulture)},{i}\n")));
        CollectionAssert.AreEqual(hours.Select(d => d.Ticks / (double)TimeSpan.TicksPerDay).ToArray(), ForecastFile.Read(ampm, layout)[0].Times, "h:mm tt");
        var badTime = Write("badtime.csv", "date,v\n3/13/2021 12:00 XM,1\n3/14/2021 1:00 PM,2\n");
        var timeError = Assert.ThrowsExactly<InvalidDataException>(() => ForecastFile.Read(badTime, layout));
        StringAssert.Contains(timeError.Message, "'3/13/2021 12:00 XM' has the time of day '12:00 XM', which is neither HH:mm[:ss] nor h:mm[:ss] AM/PM");

        var monthly = Write("monthly.csv", "date,v\n" + string.Concat(Enumerable.Range(0, 12).Select(i => $"01.{i + 1:00}.2015,{i}\n")));
        var e = Assert.ThrowsExactly<InvalidDataException>(() => ForecastFile.Read(monthly, layout));
        StringAssert.Contains(e.Message, $"'{monthly}' line 2, column 1 ('date'): '01.01.2015' does not say whether it is day-first or month-first, and no date of the column does");

        var both = Write("both.csv", "date,v\n13.01.2024,1\n01.14.2024,2\n");
        e = Assert.ThrowsExactly<InvalidDataException>(() => ForecastFile.Read(both, layout));
        StringAssert.Contains(e.Message, "line 2 has '13.01.2024' (day first) and line 3 '01.14.2024' (month first)");
    }

    [TestMethod]
    public void LongSeriesAreOrderedByTimeAndDuplicateTimesAreRefused()
    {
        var path = Write("s.csv", "id,date,v,c\nb,2024-01-02,20,0\na,2024-01-03,3,1\nb,2024-01-01,10,1\na,2024-01-01,1,0\na,2024-01-02,2,0\n");
        var layout = new ForecastFile.Layout(false, "v", "id", "date", ["c"], "auto");
        var series = ForecastFile.Read(path, layout);
        CollectionAssert.AreEqual(new[] { "b", "a" }, series.Select(s => s.Id).ToArray(), "order of first appearance");
        CollectionAssert.AreEqual(new[] { 10.0, 20.0 }, series[0].Values);
        CollectionAssert.AreEqual(new[] { 1.0, 2.0, 3.0 }, series[1].Values);
        CollectionAssert.AreEqual(new[] { 0.0, 0.0, 1.0 }, series[1].Covariates[0]);
        CollectionAssert.AreEqual(new[] { 5, 6, 3 }, series[1].Lines);
        Assert.IsTrue(series[1].Dates);

        File.AppendAllText(path, "a,2024-01-02,9,0\n");
        var e = Assert.ThrowsExactly<InvalidDataException>(() => ForecastFile.Read(path, layout));
        StringAssert.Contains(e.Message, $"'{path}' line 7, column 2 ('date'): the same time as line 6 in series 'a'");
    }

    [TestMethod]
    public void TheWideLayoutReadsOneSeriesPerRowWithTrailingEmptyFields()
    {
        var path = Write("w.csv", "\"id\",\"v1\",\"v2\",\"v3\"\n\"H1\",\"1\",\"2\",\"3\"\n\"H2\",\"4\",\"5\",\n");
        var series = ForecastFile.Read(path, new ForecastFile.Layout(true, null, "1", null, [], "auto"));
        CollectionAssert.AreEqual(new[] { "H1", "H2" }, series.Select(s => s.Id).ToArray());
        CollectionAssert.AreEqual(new[] { 4.0, 5.0 }, series[1].Values);
    }

    [TestMethod]
    public void TheSeasonalityComesFromDatesDecimalYearsOrTheAutocorrelation()
    {
        ForecastSeriesData Series(double[] values, double[]? times, bool dates) =>
            new("", values, [], Enumerable.Range(2, values.Length).ToArray(), times, dates);
        var flat = new double[60];
        Assert.AreEqual(7, Seasonality.Guess([Series(flat, Enumerable.Range(0, 60).Select(d => 739000.0 + d).ToArray(), dates: true)]).Period);
        Assert.AreEqual(24, Seasonality.Guess([Series(flat, Enumerable.Range(0, 60).Select(h => 739000.0 + h / 24.0).ToArray(), dates: true)]).Period);
        // Business days (QA: read as 7, which made seasonal naive compare different weekdays): Monday 2024-01-01 onwards,
        // weekdays only, is 5; one Saturday among them makes it daily again.
        var monday = new DateTime(2024, 1, 1).Ticks / (double)TimeSpan.TicksPerDay;
        var weekdays = Enumerable.Range(0, 84).Where(d => d % 7 < 5).Select(d => monday + d).ToArray();
        Assert.AreEqual(DayOfWeek.Monday, new DateTime(2024, 1, 1).DayOfWeek);
        Assert.AreEqual((5, "dates 1 days apart on weekdays only (business days)"), Seasonality.Guess([Series(new double[weekdays.Length], weekdays, dates: true)]));
        double[] withSaturday = [.. weekdays[..^1], monday + 82];
        Assert.AreEqual(DayOfWeek.Saturday, new DateTime((long)(withSaturday[^1] * TimeSpan.TicksPerDay)).DayOfWeek);
        Assert.AreEqual(7, Seasonality.Guess([Series(new double[withSaturday.Length], withSaturday, dates: true)]).Period);
        Assert.AreEqual(12, Seasonality.Guess([Series(flat, Enumerable.Range(0, 60).Select(m => 1949 + m / 12.0).ToArray(), dates: false)]).Period);
        var rng = new Random(1);
        var daily = Enumerable.Range(0, 500).Select(t => Math.Sin(2 * Math.PI * t / 24) + 0.3 * rng.NextDouble()).ToArray();
        Assert.AreEqual(24, Seasonality.Guess([Series(daily, null, false)]).Period);
        var noise = Enumerable.Range(0, 500).Select(_ => rng.NextDouble()).ToArray();
        Assert.AreEqual(1, Seasonality.Guess([Series(noise, null, false)]).Period);
    }

    [TestMethod]
    public void AShortSeriesThatCutsTheDefaultWindowIsNamed()
    {
        // Horizon 6, seasonality 12: the default window is 36; 2 held-out horizons and the targets take 18 values.
        ForecastSeriesData Series(string id, int length) => new(id, new double[length], [], [.. Enumerable.Range(10, length)], null);
        Assert.AreEqual(36, ForecastDefaults.Window(6, 12, 2, Series("long", 54), "f.csv", out var none));
        Assert.IsNull(none, "54 values leave the whole window");
        Assert.AreEqual(22, ForecastDefaults.Window(6, 12, 2, Series("V7", 40), "f.csv", out var warning));
        Assert.AreEqual("warning: window 22 instead of 36 for every series: 'f.csv' line 10: series 'V7' has 40 values, and 2 held-out horizon(s) and one horizon of targets leave 22; drop or lengthen that series, or set --window and --backtests.", warning);
        ForecastDefaults.Window(6, 12, 2, Series("V8", 18), "f.csv", out var tooShort);
        Assert.IsNull(tooShort, "a series with no room for a window is an error of its own, not this warning");
        // Room for one value is no window either (QA: "window 1 instead of 36", then the library refused WindowSize = 1).
        Assert.AreEqual(1, ForecastDefaults.Window(6, 12, 2, Series("V9", 19), "f.csv", out var oneValue));
        Assert.IsNull(oneValue, "a window of one value is the error's, not this warning's");
        Assert.AreEqual(2, ForecastDefaults.Window(6, 12, 2, Series("V10", 20), "f.csv", out var two));
        StringAssert.StartsWith(two, "warning: window 2 instead of 36");
    }

    [TestMethod]
    public void ZeroActualsThatSmapeScoresAsFullMissesAreNoted()
    {
        // QA: a run of zeros forecast as about 4e-12 scored sMAPE 200 at each zero, LMU's sMAPE 66.5 against naive's 3.3.
        List<Lmu.MLNet.Forecasting.ForecastOutcome> outcomes = [new([0, 0, 5], [4e-12, 0, 5]), new([50, 0, 1], [49, -1e-11, 1])];
        Assert.AreEqual(
            "  note: 3 of 6 held-out values are 0, which sMAPE scores 200 (its maximum) unless the forecast is exactly 0; LMU's forecast of 2 of them is within 1E-11 of 0, so its sMAPE overstates its error: read MASE and MAE.",
            ForecastBacktest.ZeroNote(outcomes));
        Assert.IsNull(ForecastBacktest.ZeroNote([new([0, 5], [0, 5])]), "a zero forecast exactly is no miss");
        Assert.IsNull(ForecastBacktest.ZeroNote([new([0, 50], [2, 50])]), "a real miss is an error, not rounding");
        Assert.IsNull(ForecastBacktest.ZeroNote([new([1, 5], [1e-12, 5])]), "no zero actual");
    }

    [TestMethod]
    public void ForecastTimesFollowEachSeriesCalendarOrSpacing()
    {
        // QA: forecast.csv said only "step 1..h"; each step's time now follows the series' last time.
        static double Day(DateTime d) => d.Ticks / (double)TimeSpan.TicksPerDay;
        static ForecastSeriesData Dated(IEnumerable<DateTime> times) =>
            new("s", [1, 2, 3, 4], [], [2, 3, 4, 5], [.. times.Select(Day)], Dates: true);
        static ForecastSeriesData Numbered(params double[] times) => new("s", [.. times.Select(_ => 1.0)], [], [.. times.Select((_, i) => i + 2)], times);

        var friday = new DateTime(2024, 3, 1);
        Assert.AreEqual(DayOfWeek.Friday, friday.DayOfWeek);
        var days = Dated(Enumerable.Range(-3, 4).Select(d => friday.AddDays(d)));
        CollectionAssert.AreEqual(new[] { "2024-03-02", "2024-03-03" }, FutureTimes.Of(days, 2, businessDays: false));
        var weekdays = Dated([friday.AddDays(-3), friday.AddDays(-2), friday.AddDays(-1), friday]);
        CollectionAssert.AreEqual(new[] { "2024-03-04", "2024-03-05", "2024-03-11" }, FutureTimes.Of(weekdays, 6, businessDays: true)!.Where((_, i) => i is 0 or 1 or 5).ToArray(), "Friday, then Monday on");
        var hours = Dated(Enumerable.Range(0, 4).Select(h => new DateTime(2024, 3, 1, 21, 0, 0).AddHours(h)));
        CollectionAssert.AreEqual(new[] { "2024-03-02T01:00:00Z", "2024-03-02T02:00:00Z" }, FutureTimes.Of(hours, 2, businessDays: false));
        var monthEnds = Dated([new(2023, 10, 31), new(2023, 11, 30), new(2023, 12, 31), new(2024, 1, 31)]);
        CollectionAssert.AreEqual(new[] { "2024-02-29", "2024-03-31", "2024-04-30" }, FutureTimes.Of(monthEnds, 3, businessDays: false), "a month's last day stays the last");
        var quarters = Dated([new(2023, 1, 1), new(2023, 4, 1), new(2023, 7, 1), new(2023, 10, 1)]);
        CollectionAssert.AreEqual(new[] { "2024-01-01", "2024-04-01" }, FutureTimes.Of(quarters, 2, businessDays: false));
        var years = Dated(Enumerable.Range(2017, 4).Select(y => new DateTime(y, 1, 1)));
        CollectionAssert.AreEqual(new[] { "2021-01-01", "2022-01-01", "2023-01-01", "2024-01-01", "2025-01-01" }, FutureTimes.Of(years, 5, businessDays: false), "whole years, leap years included");
        var weeks = Dated(Enumerable.Range(0, 4).Select(w => new DateTime(2024, 1, 1).AddDays(7 * w)));
        CollectionAssert.AreEqual(new[] { "2024-01-29" }, FutureTimes.Of(weeks, 1, businessDays: false));
        var quarterHours = Dated(Enumerable.Range(0, 4).Select(q => new DateTime(2024, 1, 1, 23, 0, 0).AddMinutes(15 * q)));
        CollectionAssert.AreEqual(new[] { "2024-01-02T00:00:00Z", "2024-01-02T00:15:00Z" }, FutureTimes.Of(quarterHours, 2, businessDays: false));

        CollectionAssert.AreEqual(new[] { "10", "12" }, FutureTimes.Of(Numbered(2, 4, 6, 8), 2, businessDays: false));
        CollectionAssert.AreEqual(new[] { "1961", "1961.0833333333" }, FutureTimes.Of(Numbered(1960 + (9 / 12.0), 1960 + (10 / 12.0), 1960 + (11 / 12.0)), 2, businessDays: false), "decimal years");
        // Decimal years as a file writes them, 1/12 rounded to six decimals (AirPassengers): the median step 0.083333
        // drifted to 1961.916663 after a year (docs QA); the mean step over the series and the file's six decimals do not.
        var written = Numbered([.. Enumerable.Range(0, 144).Select(m => Math.Round(1949 + (m / 12.0), 6))]);
        var year = FutureTimes.Of(written, 12, businessDays: false)!;
        CollectionAssert.AreEqual(new[] { "1961", "1961.083333", "1961.166667", "1961.25" }, year[..4]);
        Assert.AreEqual("1961.916667", year[^1]);
        // Uneven spacing (a gap) keeps the median step.
        CollectionAssert.AreEqual(new[] { "11", "12" }, FutureTimes.Of(Numbered(1, 2, 3, 5, 6, 7, 8, 9, 10), 2, businessDays: false));
        Assert.IsNull(FutureTimes.Of(new ForecastSeriesData("s", [1, 2], [], [2, 3], null), 2, businessDays: false));
    }

    [TestMethod]
    public void SeasonalNaiveRepeatsTheLastSeason()
    {
        double[] history = [1, 2, 3, 4, 5, 6, 7];
        CollectionAssert.AreEqual(new double[] { 5, 6, 7, 5, 6, 7, 5 }, SeasonalNaive.Forecast(history, 7, 3));
        CollectionAssert.AreEqual(new double[] { 7, 7 }, SeasonalNaive.Forecast(history, 2, 1));
    }

    [TestMethod]
    public void StratifiedFoldsSpreadEveryClassEvenly()
    {
        var rows = Enumerable.Range(0, 23).Select(i => new TimeSeriesRow(i % 3 == 0 ? "a" : "b", [i], 1)).ToList();
        var data = new TimeSeriesDataset("x", 1, ["a", "b"], rows);
        var folds = StratifiedFolds.Assign(data, 4, seed: 3);
        CollectionAssert.AreEqual(folds, StratifiedFolds.Assign(data, 4, seed: 3), "deterministic under the seed");
        foreach (var label in new[] { "a", "b" })
        {
            var counts = Enumerable.Range(0, 4).Select(f => rows.Where((r, i) => r.Label == label && folds[i] == f).Count()).ToArray();
            Bound.AtMost(1, counts.Max() - counts.Min(), $"class {label}: {string.Join(", ", counts)}");
        }
    }

    [TestMethod]
    public void TheConfusionTableCountsTruthAgainstPrediction()
    {
        var table = new ConfusionTable(["x", "y", "z"]);
        table.Add(["x", "x", "y", "z", "z"], ["x", "y", "y", "z", "x"]);
        int[,] expected = { { 1, 1, 0 }, { 0, 1, 0 }, { 1, 0, 1 } };
        CollectionAssert.AreEqual(expected, table.Counts);
        Assert.AreEqual(3, table.Correct);
        StringAssert.Contains(table.ToString(), "0.500", "recall of x and z, precision of x and y");
    }

    [TestMethod]
    public void BeyondTwentyClassesTheConfusionTableHasOneLinePerClass()
    {
        // QA: 250 classes printed 250 lines of 1,534 characters.
        var classes = Enumerable.Range(0, 25).Select(i => $"c{i}").ToArray();
        var table = new ConfusionTable(classes);
        table.Add(["c0", "c0", "c0", "c0", "c1", "c24"], ["c0", "c3", "c5", "c3", "c1", "c0"]);
        var lines = table.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.HasCount(27, lines, "a header, 25 classes, a note");
        Assert.AreEqual("true class           rows  recall  precision  most often taken for", lines[0]);
        Assert.AreEqual("c0                      4   0.250      0.500  c3 (2)", lines[1]);
        Assert.AreEqual("c1                      1   1.000      1.000", lines[2]);
        Assert.AreEqual("c24                     1   0.000          -  c0 (1)", lines[25]);
        Assert.AreEqual("(25 classes: confusion.png shades the whole matrix)", lines[26]);
        Assert.IsTrue(lines.All(l => l.Length < 80));
        Assert.HasCount(1 + 20 + 1, new ConfusionTable(classes[..20]).ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries), "20 classes: the matrix");
    }

    [TestMethod]
    public void TheConfusionTableShowsWholeClassNamesInAlignedColumns()
    {
        // Names were cut to 12 characters, so these two read alike (found by QA).
        string[] classes = ["abnormal_heartbeat_early", "abnormal_heartbeat_late", "n"];
        var table = new ConfusionTable(classes);
        table.Add(["n", "abnormal_heartbeat_late"], ["n", "abnormal_heartbeat_early"]);
        var lines = table.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.HasCount(5, lines);
        foreach (var name in classes)
        {
            StringAssert.Contains(lines[0], " " + name, "the header names each predicted class in full");
        }

        for (var i = 0; i < classes.Length; i++)
        {
            StringAssert.StartsWith(lines[i + 1], classes[i] + " ", "each row starts with its true class in full");
        }

        // Every count and ratio ends where its column's header ends.
        var ends = classes.Select(c => lines[0].IndexOf(" " + c, StringComparison.Ordinal) + c.Length + 1).ToArray();
        foreach (var line in lines.Skip(1))
        {
            foreach (var end in ends)
            {
                Assert.AreNotEqual(' ', line[end - 1], $"column ending at {end} in '{line}'");
                Assert.IsTrue(end == line.Length || line[end] == ' ', $"column ending at {end} in '{line}'");
            }
        }
    }

    [TestMethod]
    public void TheConfusionTableAlignsLabelsThatTakeTwoColumnsOrNone()
    {
        // QA: CJK and emoji labels went out of line (padding counted UTF-16 units, a terminal draws them two wide).
        Assert.AreEqual(4, DisplayWidth.Of("猫犬"));
        Assert.AreEqual(2, DisplayWidth.Of("🐈"), "one emoji of two UTF-16 units, two columns");
        Assert.AreEqual(6, DisplayWidth.Of("🚀🫠🇫🇷"), "transport, extended-A and a flag (review: counted as one column each)");
        Assert.AreEqual(4, DisplayWidth.Of("cafe\u0301"), "a combining accent takes no column");
        Assert.AreEqual(3, DisplayWidth.Of("ｘ1"), "a full-width letter takes two");
        // Names that take more columns than UTF-16 units (one wider than the narrowest column) and fewer.
        string[] classes = ["猫", "犬🐕", "cat", "e\u0301te\u0301", "心電図異常"];
        var table = new ConfusionTable(classes);
        table.Add(["猫", "犬🐕", "cat", "e\u0301te\u0301", "心電図異常"], ["猫", "cat", "cat", "猫", "心電図異常"]);
        var lines = table.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.HasCount(7, lines);
        var columns = lines[..6].Select(DisplayWidth.Of).ToArray();
        Assert.IsTrue(columns.All(c => c == columns[0]), "the header and every class's row take as many columns: " + string.Join(", ", columns));
        // Each count and ratio ends in the column where its class's header ends (in columns, not UTF-16 units).
        var header = lines[0];
        var ends = classes.Select(c => DisplayWidth.Of(header[..(header.IndexOf(" " + c, StringComparison.Ordinal) + c.Length + 1)])).ToArray();
        foreach (var line in lines.Skip(1))
        {
            foreach (var end in ends)
            {
                Assert.AreNotEqual(' ', CharAtColumn(line, end - 1), $"column ending at {end} in '{line}'");
                Assert.AreEqual(' ', CharAtColumn(line, end), $"column ending at {end} in '{line}'");
            }
        }

        static char CharAtColumn(string line, int column)
        {
            var at = 0;
            foreach (var c in line)
            {
                if (at == column)
                {
                    return c;
                }

                at += DisplayWidth.Of(c.ToString());
            }

            return ' ';
        }
    }

    [TestMethod]
    public void ARunReplacesTheOutputsOfTheRunBeforeItAndLeavesOtherFiles()
    {
        // A pooled run's featurizer.onnx and ridge.onnx stayed beside a later network run's model.zip (found by QA).
        var folder = Path.Combine(_temp, "out");
        void Run(params string[] names)
        {
            using var output = new StagedOutput(folder);
            foreach (var name in names) File.WriteAllText(output.File(name), name);
            output.Commit();
        }

        Run("model.zip", "featurizer.onnx", "ridge.onnx");
        File.WriteAllText(Path.Combine(folder, "notes.txt"), "the user's own");
        Run("model.zip", "classifier.onnx");
        var left = Directory.GetFiles(folder).Select(Path.GetFileName).Where(n => n != StagedOutput.ManifestName).Order(StringComparer.Ordinal).ToArray();
        CollectionAssert.AreEqual(new[] { "classifier.onnx", "model.zip", "notes.txt" }, left);
    }

    [TestMethod]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void ACommitWritesThroughALinkAndRefusesAFolderInAFilesPlaceBeforeReplacingAnything()
    {
        // Files QA: the commit replaced out/model.zip -> models/v4.zip with a file (v4.zip stayed old), and a folder named
        // stream.engine failed it with "Is a directory" after model.zip had been replaced: a mixed output folder.
        if (OperatingSystem.IsWindows())
        {
            Assert.Inconclusive("Unix links.");
        }

        var folder = Path.Combine(_temp, "out");
        var models = Directory.CreateDirectory(Path.Combine(_temp, "models")).FullName;
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(models, "v4.zip"), "v4");
        File.CreateSymbolicLink(Path.Combine(folder, "model.zip"), Path.Combine("..", "models", "v4.zip"));
        void Run(params (string Name, string Text)[] files)
        {
            using var output = new StagedOutput(folder);
            foreach (var (name, text) in files) File.WriteAllText(output.File(name), text);
            output.Commit();
        }

        Run(("model.zip", "v5"), ("forecast.csv", "f5"));
        Assert.IsNotNull(new FileInfo(Path.Combine(folder, "model.zip")).LinkTarget, "the link stays a link");
        Assert.AreEqual("v5", File.ReadAllText(Path.Combine(models, "v4.zip")), "written through it");

        Directory.CreateDirectory(Path.Combine(folder, "stream.engine"));
        var e = Assert.ThrowsExactly<IOException>(() => Run(("forecast.csv", "f6"), ("stream.engine", "s6")));
        Assert.AreEqual($"Could not write the output into '{folder}': '{Path.Combine(folder, "stream.engine")}' is a folder, and this run writes the file stream.engine there; move the folder away or choose another --output. Nothing there was replaced.", e.Message);
        Assert.AreEqual("f5", File.ReadAllText(Path.Combine(folder, "forecast.csv")), "nothing replaced");
        Assert.IsEmpty(Directory.GetFiles(folder, ".*lmu-commit*").Concat(Directory.GetDirectories(_temp, ".out.lmu-partial-*")), "no temporary file or folder left");
    }

    [TestMethod]
    [Timeout(120_000, CooperativeCancellation = true)]
    public async Task ACommitIntoAFullFileSystemOfItsOwnLeavesTheEarlierOutputsWhole()
    {
        // Files QA: an --output folder that is a file system of its own (a container volume) was filled by copies made
        // file by file over the earlier outputs: a full disk left a truncated model.zip beside the earlier run's others.
        if (!OperatingSystem.IsLinux())
        {
            Assert.Inconclusive("tmpfs mounts are Linux's");
        }

        var folder = Directory.CreateDirectory(Path.Combine(_temp, "volume")).FullName;
        using (var mount = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", folder]) { RedirectStandardError = true })!)
        {
            await mount.WaitForExitAsync();
            if (mount.ExitCode != 0)
            {
                Assert.Inconclusive($"cannot mount a tmpfs here (needs root): {await mount.StandardError.ReadToEndAsync()}");
            }
        }

        try
        {
            void Run(int modelBytes)
            {
                using var output = new StagedOutput(folder);
                File.WriteAllBytes(output.File("model.zip"), new byte[modelBytes]);
                File.WriteAllText(output.File("forecast.csv"), $"run of {modelBytes}");
                output.Commit();
            }

            Run(300_000);
            var e = Assert.ThrowsExactly<IOException>(() => Run(900_000));
            StringAssert.StartsWith(e.Message, $"Could not write the output into '{folder}': ");
            StringAssert.Contains(e.Message, "Nothing there was replaced: the earlier outputs are as they were.");
            Assert.AreEqual(300_000, new FileInfo(Path.Combine(folder, "model.zip")).Length, "the earlier model whole");
            Assert.AreEqual("run of 300000", File.ReadAllText(Path.Combine(folder, "forecast.csv")));
            Assert.IsEmpty(Directory.GetFiles(folder, ".*lmu-commit*"), "no temporary file left");
        }
        finally
        {
            using var umount = System.Diagnostics.Process.Start("umount", [folder])!;
            await umount.WaitForExitAsync();
        }
    }

    [TestMethod]
    public void ACommitAfterAnInterruptWritesNothingAndRemovesNothing()
    {
        // Review: the main thread reached the commit after the signal handler had removed the staging folder, found
        // nothing staged, and removed the earlier run's outputs, after the handler had said nothing was written.
        var folder = Path.Combine(_temp, "out");
        using (var first = new StagedOutput(folder))
        {
            File.WriteAllText(first.File("model.zip"), "one");
            first.Commit();
        }

        using var second = new StagedOutput(folder);
        File.WriteAllText(second.File("model.zip"), "two");
        second.Interrupted("SIGTERM");
        Assert.ThrowsExactly<OperationCanceledException>(() => second.Commit());
        Assert.AreEqual("one", File.ReadAllText(Path.Combine(folder, "model.zip")), "the earlier output stays");
    }

    [TestMethod]
    public void ARenameRefusedHalfWayNamesWhatWasReplacedAndLeavesNoCopies()
    {
        // Review: an immutable (or bind-mounted) earlier file refused its rename; the commit failed with .NET's words,
        // leaving copies beside the files not reached and no word of which files were whose.
        var folder = Path.Combine(_temp, "out");
        void Run(string text)
        {
            using var output = new StagedOutput(folder);
            foreach (var name in new[] { "a.csv", "b.csv", "c.csv" }) File.WriteAllText(output.File(name), text);
            output.Commit();
        }

        Run("one");
        var fixedFile = Path.Combine(folder, "b.csv");
        if (SystemTool.Run("chattr", "+i", fixedFile) != 0)
        {
            Assert.Inconclusive("chattr +i is not allowed here (needs root and ext4 or a file system like it)");
        }

        try
        {
            var e = Assert.ThrowsExactly<IOException>(() => Run("two"));
            StringAssert.Contains(e.Message, "Replaced: a.csv; left as the earlier run wrote them: b.csv, c.csv.");
        }
        finally
        {
            SystemTool.Run("chattr", "-i", fixedFile);
        }

        Assert.AreEqual("one", File.ReadAllText(Path.Combine(folder, "c.csv")));
        Assert.IsEmpty(Directory.GetFiles(folder, ".*lmu-commit*"), "no copies left");
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task AStreamIsWrittenIntoNotRenamedOver()
    {
        // Review: bench --json /dev/stdout into a pipe failed after the whole bench naming an internal file, and into a
        // redirected file replaced the file the shell had open.
        if (!OperatingSystem.IsLinux())
        {
            Assert.Inconclusive("named pipes are made with mkfifo here (Linux)");
        }

        foreach (var stream in new[] { "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1", "/dev/null" })
        {
            Assert.IsTrue(PartialOutputFile.IsStream(stream), stream);
            var e = Assert.ThrowsExactly<IOException>(() => PartialOutputFile.TargetFile(stream, "Could not write --checkpoint"));
            Assert.AreEqual($"Could not write --checkpoint '{stream}': it is a stream (standard output, a descriptor or a device), and this file is written whole beside its target and moved over it; give a file's path.", e.Message);
        }

        var fifo = Path.Combine(_temp, "json.pipe");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", fifo)!)
        {
            await mkfifo.WaitForExitAsync();
        }

        var reader = Task.Run(() => File.ReadAllText(fifo));
        PartialOutputFile.WriteFile(fifo, path => File.AppendAllText(path, "{}"), streamable: true);
        Assert.AreEqual("{}", await reader.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.AreEqual("a named pipe", Lmu.MLNet.FileKind.Of(fifo), "still a pipe");
        Assert.ThrowsExactly<IOException>(() => PartialOutputFile.WriteFile(fifo, path => File.WriteAllText(path, "zip")), "a zip or a plot is never written into a pipe");
    }

    [TestMethod]
    public void AStagingFolderWhoseRunHoldsItsLockIsKeptAndAnEndedOnesGoes()
    {
        // Files QA: a run in another container (its pid not running here) lost its staging folder to the next run's sweep.
        var folder = Path.Combine(_temp, "out");
        var held = Directory.CreateDirectory(Path.Combine(_temp, $".out.lmu-partial-999999-{Guid.NewGuid():N}")).FullName;
        var ended = Directory.CreateDirectory(Path.Combine(_temp, $".out.lmu-partial-1-{Guid.NewGuid():N}")).FullName;
        File.WriteAllText(Path.Combine(ended, ".lock"), string.Empty);
        using (new FileStream(Path.Combine(held, ".lock"), FileMode.Create, FileAccess.ReadWrite, FileShare.None))
        using (var output = new StagedOutput(folder))
        {
            Assert.IsTrue(Directory.Exists(held), "its lock is held: kept, though process 999999 does not run here");
            Assert.IsFalse(Directory.Exists(ended), "its lock is free: removed, though process 1 runs");
        }

        Directory.Delete(held, recursive: true);
    }

    [TestMethod]
    public void OutputsNamedNearTheFileSystemsLimitAreWritten()
    {
        // Found by QA: the staging folder (+ ".lmu-partial-" and 45 characters) and the partial file (+ ".{pid}.partial")
        // passed the 255-byte limit on a name, and the runs failed as "too long", naming the temporary names.
        var folder = Path.Combine(_temp, new string('f', 250));
        using (var output = new StagedOutput(folder))
        {
            File.WriteAllText(output.File("model.zip"), "zip");
            output.Commit();
        }

        Assert.AreEqual("zip", File.ReadAllText(Path.Combine(folder, "model.zip")));
        var file = Path.Combine(_temp, new string('s', 250) + ".csv");
        Assert.AreEqual(3, PartialOutputFile.Write(file, writer =>
        {
            writer.Write("a,b");
            return 3;
        }));
        Assert.AreEqual("a,b", File.ReadAllText(file));
        var plot = Path.Combine(_temp, new string('p', 250) + ".png");
        PartialOutputFile.WriteFile(plot, partial => File.WriteAllText(partial, "png"));
        Assert.AreEqual("png", File.ReadAllText(plot));
        Assert.IsEmpty(Directory.GetFileSystemEntries(_temp).Where(e => Path.GetFileName(e).StartsWith('.')), "no temporary file or folder left");
    }

    [TestMethod]
    public void AKilledRunsPartialFileIsRemovedByTheNextWriteOfThatOutput()
    {
        // Fleet QA: kill -9 of forecast-stream left '.big.out.<pid>.partial' (30 MB), and a later run left it too.
        using var ended = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("true") { UseShellExecute = false })!;
        ended.WaitForExit();
        var dead = ended.Id;
        var alive = System.Diagnostics.Process.GetProcessesByName("dotnet").Select(p => p.Id).FirstOrDefault(id => id != Environment.ProcessId);
        alive = alive == 0 ? 1 : alive;    // pid 1 (init) always runs
        var killed = Path.Combine(_temp, $".out.csv.{dead}.partial");
        var running = Path.Combine(_temp, $".out.csv.{alive}.partial");
        var other = Path.Combine(_temp, $".other.csv.{dead}.partial");
        var killedPlot = Path.Combine(_temp, $".plot.{dead}.partial.png");
        foreach (var file in new[] { killed, running, other, killedPlot })
        {
            File.WriteAllText(file, "part");
        }

        // Files QA: runs in containers (each pid 1) shared one partial file, and a live run whose pid did not run in the
        // sweeper's namespace lost its file. Now .{name}.{pid}-{random}.partial, with a lock its run holds.
        var heldElsewhere = Path.Combine(_temp, $".out.csv.{dead}-{Guid.NewGuid():N}.partial");
        var freed = Path.Combine(_temp, $".out.csv.{alive}-{Guid.NewGuid():N}.partial");
        var orphanLock = Path.Combine(_temp, $".out.csv.{dead}-{Guid.NewGuid():N}.partial.lock");
        foreach (var file in new[] { heldElsewhere, heldElsewhere + ".lock", freed, freed + ".lock", orphanLock })
        {
            File.WriteAllText(file, "part");
        }

        using (new FileStream(heldElsewhere + ".lock", FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            PartialOutputFile.Write(Path.Combine(_temp, "out.csv"), writer =>
            {
                writer.Write("x");
                return 0;
            });
        }

        Assert.IsTrue(File.Exists(heldElsewhere), "a partial file whose lock is held stays, whatever its process id reads here");
        Assert.IsFalse(File.Exists(freed) || File.Exists(freed + ".lock"), "one whose lock is free goes, with its lock, whatever its process id");
        Assert.IsFalse(File.Exists(orphanLock), "a lock left without its partial file goes");
        Assert.IsEmpty(Directory.GetFiles(_temp, $".out.csv.{Environment.ProcessId}-*"), "the write's own partial file and lock are gone");
        PartialOutputFile.WriteFile(Path.Combine(_temp, "plot.png"), partial => File.WriteAllText(partial, "png"));
        Assert.IsFalse(File.Exists(killed), "the killed run's partial file of this output is removed");
        Assert.IsFalse(File.Exists(killedPlot), "also for a file written through a path");
        Assert.IsTrue(File.Exists(running), "a running process's partial file stays");
        Assert.IsTrue(File.Exists(other), "another output's partial file stays");
    }

    [TestMethod]
    public void ARunsTempFolderGoesWithTheRunAndAKilledRunsWithTheNext()
    {
        // Large-data QA: interrupted runs left the carried ONNX graphs in $TMPDIR (72 MB each for a large model).
        string folder;
        using (var run = new RunTempFolder())
        {
            folder = run.Folder;
            StringAssert.StartsWith(Path.GetFileName(folder), $"lmu-run-{Environment.ProcessId}-");
            File.WriteAllText(Path.Combine(folder, "graph.onnx"), "left open by a model never disposed");
        }

        Assert.IsFalse(Directory.Exists(folder), "removed with its files when the run ends");

        using var ended = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("true") { UseShellExecute = false })!;
        ended.WaitForExit();
        var killed = Directory.CreateDirectory(Path.Combine(_temp, $"lmu-run-{ended.Id}-abc")).FullName;
        File.WriteAllText(Path.Combine(killed, "graph.onnx"), "x");
        var running = Directory.CreateDirectory(Path.Combine(_temp, "lmu-run-1-abc")).FullName;
        var other = Directory.CreateDirectory(Path.Combine(_temp, "lmu-runner")).FullName;
        RunTempFolder.RemoveAbandoned(_temp);
        Assert.IsFalse(Directory.Exists(killed), "a killed run's folder is removed");
        Assert.IsTrue(Directory.Exists(running) && Directory.Exists(other), "a running process's folder and other names stay");

        // Review: a run in another PID namespace (a container sharing /tmp) has an id that looks dead here; its lock
        // says it runs. A folder whose lock can be taken goes, whatever its id.
        var elsewhere = Directory.CreateDirectory(Path.Combine(_temp, $"lmu-run-{ended.Id}-other-namespace")).FullName;
        File.WriteAllText(Path.Combine(elsewhere, "graph.onnx"), "in use");
        using (new FileStream(Path.Combine(elsewhere, RunTempFolder.LockName), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None))
        {
            RunTempFolder.RemoveAbandoned(_temp);
            Assert.IsTrue(File.Exists(Path.Combine(elsewhere, "graph.onnx")), "a locked folder stays, though its id is not running here");
        }

        var unlocked = Directory.CreateDirectory(Path.Combine(_temp, "lmu-run-1-ended-elsewhere")).FullName;
        File.WriteAllText(Path.Combine(unlocked, RunTempFolder.LockName), string.Empty);
        RunTempFolder.RemoveAbandoned(_temp);
        Assert.IsFalse(Directory.Exists(elsewhere) || Directory.Exists(unlocked), "once its lock is free it goes, even under a running id");
        using (var run = new RunTempFolder())
        {
            Assert.IsTrue(File.Exists(Path.Combine(run.Folder, RunTempFolder.LockName)), "a run holds its lock from the folder's first moment");
            RunTempFolder.RemoveAbandoned(Path.GetTempPath());
            Assert.IsTrue(Directory.Exists(run.Folder), "a live run's folder stays");
        }
    }

    [TestMethod]
    public void ATempFolderThatCannotBeWrittenIsNamedAsTmpdir()
    {
        // Regression QA: an unwritable TMPDIR said "Access to the path '.../lmu-run-...' is denied", naming neither.
        var locked = Directory.CreateDirectory(Path.Combine(_temp, "immutable")).FullName;
        if (OperatingSystem.IsWindows() || SystemTool.Run("chattr", "+i", locked) != 0)
        {
            Assert.Inconclusive("chattr +i is not allowed here (needs root and ext4 or a file system like it)");
        }

        try
        {
            var e = Assert.ThrowsExactly<IOException>(() => new RunTempFolder(locked));
            StringAssert.StartsWith(e.Message, $"The temp folder '{locked}' (TMPDIR) cannot be written, and the run keeps the model's graph files there:");
            StringAssert.EndsWith(e.Message, "Set TMPDIR to a writable folder.");
        }
        finally
        {
            SystemTool.Run("chattr", "-i", locked);
        }

        Assert.IsEmpty(Directory.GetFileSystemEntries(locked), "nothing half-made is left");
    }

    [TestMethod]
    public void AnOutputPathIsWrittenWhereTheOperatingSystemPutsIt()
    {
        // Found by the regression QA: d/../m.zip, d a link to a folder elsewhere, was written beside d (the text's
        // reading) while the guard against writing over an input compared it where the system puts it, beside d's target.
        var target = Directory.CreateDirectory(Path.Combine(_temp, "real", "x")).FullName;
        var link = Path.Combine(_temp, "d");
        Directory.CreateSymbolicLink(link, target);
        var path = Path.Combine(link, "..", "f.csv");
        PartialOutputFile.Write(path, writer =>
        {
            writer.Write("scores");
            return 0;
        });
        Assert.AreEqual("scores", File.ReadAllText(Path.Combine(_temp, "real", "f.csv")));
        Assert.IsFalse(File.Exists(Path.Combine(_temp, "f.csv")), "not where the text alone would put it");
    }

    [TestMethod]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void AReplacedOutputFileKeepsItsPermissions()
    {
        // Found by the environment QA: predict --output over a 0600 file left it 0644 (the move put a new file there).
        const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        var scores = Path.Combine(_temp, "scores.csv");
        File.WriteAllText(scores, "old");
        File.SetUnixFileMode(scores, Private);
        PartialOutputFile.Write(scores, writer =>
        {
            writer.Write("new");
            return 0;
        });
        Assert.AreEqual("new", File.ReadAllText(scores));
        Assert.AreEqual(Private, File.GetUnixFileMode(scores));

        var plot = Path.Combine(_temp, "plot.png");
        File.WriteAllText(plot, "old");
        File.SetUnixFileMode(plot, Private);
        PartialOutputFile.WriteFile(plot, partial => File.WriteAllText(partial, "png"));
        Assert.AreEqual("png", File.ReadAllText(plot));
        Assert.AreEqual(Private, File.GetUnixFileMode(plot));
    }

    [TestMethod]
    public void AnOutputFileInAReadOnlyFolderIsNamedInTheError()
    {
        // Found by QA: the error named '.s.csv.6351.partial', a temporary file the user never asked for.
        var mount = Directory.CreateDirectory(Path.Combine(_temp, "ro")).FullName;
        using (var m = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("mount", ["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", mount]) { RedirectStandardError = true })!)
        {
            m.WaitForExit();
            if (m.ExitCode != 0)
            {
                Assert.Inconclusive("cannot mount a tmpfs here (needs root and a kernel that allows it)");
            }
        }

        try
        {
            var path = Path.Combine(mount, "s.csv");
            var e = Assert.Throws<Exception>(() => PartialOutputFile.Write(path, writer => 0));
            StringAssert.StartsWith(e.Message, $"Could not write '{path}': ");
            Assert.DoesNotContain(".partial", e.Message);
        }
        finally
        {
            System.Diagnostics.Process.Start("umount", ["-l", mount])!.WaitForExit();
        }
    }

    [TestMethod]
    public void ACommaFileWithDecimalCommasIsWarnedOf()
    {
        // Found by QA: "walk,-0,073127,0,548912" read as four fields (-0, 73127, 0, 548912) without a word.
        var commas = DelimitedFile.Read(Write("commas.csv", "walk,-0,073127,0,548912,1,25\nrun,0,5,-1,0625,2,5\n"));
        var warning = commas.CommaDecimalWarning();
        Assert.IsNotNull(warning);
        StringAssert.Contains(warning, "has fields such as '073127' (line 1) and '0625' (line 2), whole numbers with a leading zero in several columns");
        // One zero-led column is an hour, a padded id or a label (QA found a first version warning of these).
        Assert.IsNull(DelimitedFile.Read(Write("hours.csv", "date,hour,value\n2024-01-05,00,9.867\n2024-01-05,01,11.394\n2024-01-05,02,10.5\n")).CommaDecimalWarning(), "an hour column");
        Assert.IsNull(DelimitedFile.Read(Write("stores.csv", "date,store,value\n2020-01-01,0001,10.33\n2020-01-01,0002,9.5\n")).CommaDecimalWarning(), "a padded id column");
        Assert.IsNull(DelimitedFile.Read(Write("labels.csv", "0.5,1.5,01\n0.25,2.5,02\n")).CommaDecimalWarning(), "a label column last");
        Assert.IsNull(DelimitedFile.Read(Write("points.csv", "walk,-0.073127,0.548912,1.25\nrun,0.5,-1.0625,2.5\n")).CommaDecimalWarning());
        Assert.IsNull(DelimitedFile.Read(Write("ids.csv", "007,0.5,1.5\n008,0.25,2.5\n")).CommaDecimalWarning(), "zero-led ids in the first column are not the sign");
        Assert.IsNull(DelimitedFile.Read(Write("semicolons.csv", "walk;-0,073127;0,548912\n")).CommaDecimalWarning(), "';'-separated decimal commas are read as numbers");
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_temp, name);
        File.WriteAllText(path, text);
        return path;
    }
}
