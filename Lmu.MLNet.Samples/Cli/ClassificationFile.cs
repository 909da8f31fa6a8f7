using System.Globalization;

namespace Lmu.MLNet.Samples.Cli;

/// <summary>
/// Reads the labelled series of <c>lmu classify</c>: sktime <c>.ts</c> files through the library's
/// <see cref="UcrLoader"/> (multivariate, variable length), any other file as delimited text (CSV, TSV, UCR's .tsv),
/// one series per row: the label column, the other columns the series, step-major with <c>--channels</c> values per
/// step. Trailing missing values (empty, NaN, ?) end a shorter series, as in UCR's variable-length files. Every
/// problem is an <see cref="InvalidDataException"/> naming the file, the line and the column.
/// </summary>
internal static class ClassificationFile
{
    /// <summary>How to read the file.</summary>
    /// <param name="Label">The label column: a header name or a 1-based column number.</param>
    /// <param name="Header">"auto", "yes" or "no".</param>
    /// <param name="Channels">Values per step in a delimited file's rows.</param>
    public sealed record Layout(string Label, string Header, int Channels);

    /// <summary>A loaded file: the series, for delimited files the line of each row (null for .ts), and how errors name the label column.</summary>
    /// <param name="LabelNote">Says which label spellings were read as one class (as "1" and "01"), printed when the file was read; null when none were.</param>
    public sealed record Loaded(TimeSeriesDataset Data, int[]? Lines, string Path, string LabelColumn, string? LabelNote = null)
    {
        /// <summary>Where row <paramref name="row"/>'s label is, for an error message.</summary>
        public string Where(int row) => Lines is null ? $"'{Path}', {LabelColumn} of case {row + 1}" : $"'{Path}' line {Lines[row]}, {LabelColumn}";
    }

    public static Loaded Read(string path, Layout layout)
    {
        if (!File.Exists(path))
        {
            // QA: a folder was "does not exist".
            throw Directory.Exists(path) ? new IOException($"'{path}' is a folder; give a file.") : new FileNotFoundException($"'{path}' does not exist.");
        }

        if (Path.GetExtension(path).Equals(".ts", StringComparison.OrdinalIgnoreCase))
        {
            // The file names its label and dimensions itself.
            var ts = UcrLoader.LoadTs(path);
            // The loader keeps a missing value ('?') before a series' end as NaN; the models need every step, and a
            // featurizer refused it later naming neither file nor case (QA).
            if (ts.FirstMissingValue() is (var i, var hole))
            {
                throw new InvalidDataException(
                    $"'{path}', case {i + 1} after @data, dimension {(hole % ts.Channels) + 1}, value {(hole / ts.Channels) + 1}: a missing value ('?') before the series' end; fill it in (missing values at the end shorten a series).");
            }

            return new Loaded(ts, null, path, "the class label");
        }

        if (layout.Channels < 1)
        {
            throw new ArgumentException($"--channels {layout.Channels} must be at least 1.");
        }

        var file = DelimitedFile.Read(path);
        if (file.CommaDecimalWarning() is { } warning)
        {
            Console.Error.WriteLine(warning);
        }

        var labelGuess = int.TryParse(layout.Label, out var n) ? n - 1 : -1;
        var columns = Columns.Open(file, layout.Header, [layout.Label], i => i != labelGuess);
        if (columns.Header is { } header && header[0].Length == 0 && CountsRows(columns))
        {
            // Read as a series value, pandas' index would give away each row's position (and, in a file sorted by class,
            // its class); found by QA, where it also made the default --label 1 resolve to the header name "1".
            throw new InvalidDataException(
                $"'{path}' line {file.Records[0].Line} (header): column 1 has no name and counts the rows (0, 1, 2, ...), like the index pandas writes; it would be read as a value of every series. Remove it (pandas: to_csv(..., index=False)).");
        }

        var label = columns.Resolve(layout.Label, "--label");
        var width = columns.Count - 1;
        if (width < 1 || width % layout.Channels != 0)
        {
            throw new InvalidDataException(
                $"'{path}' line {file.Records[0].Line}: {width} value columns besides the label, which is not a whole number of steps of --channels {layout.Channels}." + file.SeparatorHint());
        }

        var rows = new List<TimeSeriesRow>();
        var lines = new List<int>();
        foreach (var record in columns.Data)
        {
            rows.Add(Row(record, columns, label, layout.Channels));
            lines.Add(record.Line);
        }

        var note = MergedLabelsNote(columns.Data.Select(r => r.Fields[label].Trim()), path, columns.Name(label));
        if (note is not null)
        {
            Console.Error.WriteLine(note);
        }

        var name = Path.GetFileNameWithoutExtension(path);
        return new Loaded(new TimeSeriesDataset(name, layout.Channels, UcrLoader.SortLabels(rows.Select(r => r.Label)), rows), [.. lines], path, columns.Name(label), note);
    }

    /// <summary>
    /// Names the integer codes that read as one class. Whole numbers are compared as numbers, so UCR's "1" and
    /// "1.0000000e+00" match (not noted: one number written two ways); that also merges codes such as "1" and "01",
    /// which a user may mean as two classes and would otherwise see as one without a word (last sessions' low list).
    /// </summary>
    private static string? MergedLabelsNote(IEnumerable<string> raw, string path, string column)
    {
        static bool Code(string label) => label.TrimStart('+', '-').Length > 0 && label.TrimStart('+', '-').All(char.IsAsciiDigit);
        var merged = raw.Distinct(StringComparer.Ordinal)
            .Where(Code)
            .GroupBy(UcrLoader.NormaliseLabel, StringComparer.Ordinal)
            .Where(g => g.Count() > 1)
            .Select(g => $"{string.Join(", ", g.Order(StringComparer.Ordinal).Select(l => $"'{l}'"))} as '{g.Key}'")
            .ToList();
        return merged.Count == 0
            ? null
            : $"Note: '{path}', {column}: label codes that are the same whole number are one class: {string.Join("; ", merged.Take(5))}" +
              (merged.Count > 5 ? $" and {merged.Count - 5} more" : string.Empty) + ". Give them distinct names (e.g. a letter in front) to keep them apart.";
    }

    /// <summary>True when the first column holds consecutive whole numbers down the data rows, from 0 or 1.</summary>
    private static bool CountsRows(Columns columns)
    {
        var expected = -1L;
        foreach (var record in columns.Data)
        {
            if (!long.TryParse(record.Fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var value) || (expected < 0 ? value > 1 : value != expected))
            {
                return false;
            }

            expected = value + 1;
        }

        return true;
    }

    private static TimeSeriesRow Row(DelimitedFile.Record record, Columns columns, int label, int channels)
    {
        var path = columns.File.Path;
        var fields = record.Fields;
        if (fields.Length != columns.Count)
        {
            var reference = columns.Header is null ? $"line {columns.File.Records[0].Line}" : "the header";
            throw new InvalidDataException(
                $"'{path}' line {record.Line}: {fields.Length} columns, but {reference} has {columns.Count}; every row needs the same columns (end a shorter series with empty or NaN values).");
        }

        if (Columns.IsMissing(fields[label]))
        {
            throw new InvalidDataException($"'{path}' line {record.Line}, {columns.Name(label)}: the label is missing.");
        }

        var values = new float[fields.Length - 1];
        var k = 0;
        var end = -1; // index of the last value that is present
        for (var i = 0; i < fields.Length; i++)
        {
            if (i == label)
            {
                continue;
            }

            if (Columns.IsMissing(fields[i]))
            {
                values[k++] = float.NaN;
                continue;
            }

            if (!float.TryParse(fields[i], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !float.IsFinite(v))
            {
                throw new InvalidDataException($"'{path}' line {record.Line}, {columns.Name(i)}: {DelimitedFile.NotANumber(fields[i])}.");
            }

            values[k++] = v;
            end = k - 1;
        }

        if (end < 0)
        {
            throw new InvalidDataException($"'{path}' line {record.Line}: the row has a label and no values.");
        }

        // Trailing missing values shorten the series to whole steps; a missing value before the end is a hole.
        var length = (end / channels) + 1;
        var hole = Array.FindIndex(values, 0, length * channels, float.IsNaN);
        if (hole >= 0)
        {
            var column = hole >= label ? hole + 1 : hole;
            throw new InvalidDataException(
                $"'{path}' line {record.Line}, {columns.Name(column)}: a missing value inside the series (only missing values at the end mark a shorter series).");
        }

        return new TimeSeriesRow(UcrLoader.NormaliseLabel(fields[label]), values[..(length * channels)], length);
    }
}
