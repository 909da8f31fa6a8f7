using System.Globalization;

namespace Lmu.MLNet.Samples.Cli;

/// <summary>
/// A CSV or TSV file read as records of text fields, each with its 1-based line number (blank lines skipped, and lines
/// starting with '#' before the first record: comments at the top of a file. After it, a line starting with '#' is data:
/// a label such as "#walk" dropped every row of its class when all such lines were comments, found by QA). The delimiter
/// follows a spreadsheet's "sep=;" first line, else the extension (.tsv/.tab: tab), else the first records (see
/// <see cref="Sniff"/>: a spreadsheet's "CSV" in many locales is ';'-separated with decimal commas; a .csv file so
/// written was read as one column per row, found by QA), runs of spaces last (<see cref="Spaces"/>). Fields
/// may be quoted ("a, b", with "" for a quote); a quoted field cannot span lines. Each line is kept as one string and
/// split into fields when its record is read: kept as fields, a file took about 12 (classification) to 40 (forecast)
/// times its size in memory (large-data QA: 1.3-1.5 GB files ran out of memory).
/// </summary>
internal sealed class DelimitedFile
{
    private DelimitedFile(string path, char delimiter, List<(int Line, string Text)> lines)
    {
        Path = path;
        Delimiter = delimiter;
        Records = new LineRecords(lines, delimiter, path);
    }

    /// <summary>One non-blank line: its 1-based line number and its fields (trimmed, quotes removed).</summary>
    public sealed record Record(int Line, string[] Fields);

    /// <summary>The file as given on the command line (errors name it so).</summary>
    public string Path { get; }

    /// <summary>The field separator used.</summary>
    public char Delimiter { get; }

    /// <summary>Every record in file order (each read splits its line again: read a record once where it matters).</summary>
    public IReadOnlyList<Record> Records { get; }

    /// <summary>Reads the whole file; a missing file or an unterminated quote is an error naming the file and line.</summary>
    public static DelimitedFile Read(string path)
    {
        if (!File.Exists(path))
        {
            // QA: a folder was "does not exist".
            throw Directory.Exists(path) ? new IOException($"'{path}' is a folder; give a file.") : new FileNotFoundException($"'{path}' does not exist.");
        }

        var extension = System.IO.Path.GetExtension(path).ToLowerInvariant();
        char? delimiter = extension is ".tsv" or ".tab" ? '\t' : null;
        var lines = new List<(int Line, string Text)>();
        var number = 0;
        foreach (var line in Lmu.MLNet.Data.StrictTextLines.Read(path))
        {
            number++;
            if (number == 1 && SeparatorLine(line) is { } declared)
            {
                // A spreadsheet's "sep=;" first line names the separator (QA: read as a header "sep=").
                delimiter = declared;
                continue;
            }

            if (string.IsNullOrWhiteSpace(line) || (lines.Count == 0 && line.TrimStart().StartsWith('#')))
            {
                continue;
            }

            lines.Add((number, line));
        }

        if (lines.Count == 0)
        {
            throw new InvalidDataException($"'{path}': the file has no data lines.");
        }

        delimiter ??= Sniff(lines, tabs: extension != ".csv");
        foreach (var (line, text) in lines)
        {
            if (text.Contains('"'))
            {
                // Only a quote can make a line unreadable: refused here, as it was when every line was split at once.
                _ = Split(text, delimiter.Value, path, line);
            }
        }

        return new DelimitedFile(path, delimiter.Value, lines);
    }

    /// <summary>How messages name the separator: "','", "';'", "tabs", "spaces".</summary>
    public string SeparatorName => Delimiter == '\t' ? "tabs" : Delimiter == Spaces ? "spaces" : $"'{Delimiter}'";

    /// <summary>
    /// When the first record is one field holding tabs or '|', a sentence saying so (with a leading space), else empty:
    /// such a file read as one column gave "0 value columns" with no word of the separator (found by QA).
    /// </summary>
    public string SeparatorHint()
    {
        if (Records.Count == 0 || Records[0].Fields.Length != 1)
        {
            return string.Empty;
        }

        var field = Records[0].Fields[0];
        var found = field.Contains('\t') ? "tabs" : field.Contains('|') ? "'|'" : null;
        return found is null
            ? string.Empty
            : $" Line {Records[0].Line} was read as one field, and it holds {found}: fields are separated by ',' or ';' (tabs in a .tsv or .tab file); convert the file or rename it.";
    }

    /// <summary>
    /// A warning when a comma-separated file looks like numbers written with decimal commas, unquoted: their decimals
    /// then read as fields of their own, and "-0,073127" became -0 and 73127 with no word (found by QA; a header with as
    /// many names passes the column count). The sign: whole numbers with a leading zero ("073127"), which no number
    /// writes, in two or more columns besides the first, in the first rows. One such column is an hour ("00", "01"), a
    /// zero-padded id ("0001") or a label ("01"), which QA found warned of by a first version. Null when there is none.
    /// </summary>
    public string? CommaDecimalWarning()
    {
        if (Delimiter != ',')
        {
            return null;
        }

        var suspects = Records.Take(50)
            .SelectMany(r => r.Fields.Select((f, column) => (r.Line, Column: column, Field: f)).Skip(1))
            .Where(x => x.Field.Length > 1 && x.Field[0] == '0' && x.Field.All(char.IsAsciiDigit))
            .DistinctBy(x => x.Column)
            .Take(2).ToArray();
        return suspects.Length < 2
            ? null
            : $"warning: '{Path}' has fields such as '{suspects[0].Field}' (line {suspects[0].Line}) and '{suspects[1].Field}' (line {suspects[1].Line}), " +
              "whole numbers with a leading zero in several columns: they look like the decimals of numbers written with a decimal comma in a " +
              "comma-separated file. Numbers are read with '.' as the decimal mark: write them with points, or separate the fields with ';'.";
    }

    /// <summary>True when <paramref name="field"/> is a number with a decimal comma ("-1,5", "2,0e3").</summary>
    public static bool IsDecimalComma(string field) =>
        field.Count(c => c == ',') == 1 && double.TryParse(field.Replace(',', '.'), NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    /// <summary>The error text for a field that is not a finite number, pointing out a decimal comma or a number beyond float32.</summary>
    public static string NotANumber(string field) =>
        $"'{field}' is not a finite number" +
        (IsDecimalComma(field) ? " (a decimal comma: numbers are read with '.' as the decimal mark)"
            // QA: '1.025800e+39' is finite, but beyond float32's range (about 3.4e38), which the values are read as.
            : double.TryParse(field.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)
                ? " in float32, which the values are read as: its magnitude is beyond about 3.4e38; rescale the column"
                // QA: other programs' words for a missing value were refused as numbers with no hint.
                : MissingWords.Contains(field.Trim(), StringComparer.OrdinalIgnoreCase)
                    ? " (a missing value is written as an empty field, NA, NaN or ?)"
                    : string.Empty);

    private static readonly string[] MissingWords = ["null", "none", "n/a", "#n/a", "-", "na.", "nil", "missing"];

    /// <summary>
    /// The separator, from the first <see cref="SniffRecords"/> records. The first record's choice (a tab if it has one,
    /// unless the file is .csv; ';' when it has some and every ';'-separated field with a comma in it is a number with a
    /// decimal comma; else ',') stands when it splits those records alike into two or more fields, unless ';' does too
    /// and every ';'-separated field with a comma in the records after the first is a number with a decimal comma (QA: a
    /// ';' file whose header held "Umsatz, EUR" was read as comma-separated, its header as two columns and its rows as
    /// one; with decimal commas ',' split header and rows alike). Otherwise the separator that splits them alike, the
    /// most fields winning; else the first record's choice. Not "the most fields" throughout (review: a headerless file
    /// of "1949,000;219,0" lines has more commas than semicolons).
    /// </summary>
    private static char Sniff(List<(int Line, string Text)> lines, bool tabs)
    {
        var sample = lines.Take(SniffRecords).Select(l => l.Text).ToList();
        var first = sample[0];
        var pick = tabs && first.Contains('\t') ? '\t'
            : first.Contains(';') && first.Split(';').All(f => !f.Contains(',') || IsDecimalComma(f.Trim())) ? ';'
            : ',';
        if (pick == ',' && sample.Count > 1 && SameFieldCount(sample, ';') >= 2
            && sample.Skip(1).SelectMany(l => Split(l, ';', string.Empty, 0)).All(f => !f.Contains(',') || IsDecimalComma(f)))
        {
            return ';';
        }

        if (SameFieldCount(sample, pick) >= 2)
        {
            return pick;
        }

        char[] others = tabs ? ['\t', ';', ','] : [';', ','];
        var best = (Delimiter: pick, Fields: 0);
        foreach (var candidate in others.Where(c => c != pick))
        {
            var fields = SameFieldCount(sample, candidate);
            if (fields > best.Fields)
            {
                best = (candidate, fields);
            }
        }

        return best.Fields >= 2 ? best.Delimiter
            : SpaceSeparated(sample) ? Spaces
            : pick;
    }

    /// <summary>
    /// The <see cref="Delimiter"/> of a file whose fields are separated by runs of spaces: what NumPy's <c>savetxt</c>
    /// writes by default and the old UCR archive's .txt files hold (QA: such files were read as one field a line).
    /// </summary>
    public const char Spaces = ' ';

    /// <summary>
    /// Whether the sample is a table separated by spaces: no separator above split it, each line splits into the same
    /// two or more fields at runs of spaces (none quoted), and below the first line (a header, perhaps) every field after
    /// the first (a label or id, perhaps) is a number or a missing value's mark. A lone column of text with spaces in it
    /// ("New York") stays one field. Tabs are not spaces here: a tab-separated file's empty field would vanish in a run.
    /// </summary>
    private static bool SpaceSeparated(List<string> sample)
    {
        if (sample.Any(l => l.Contains('"') || !l.Trim().Contains(Spaces)))
        {
            return false;
        }

        var rows = sample.Select(l => l.Split(Spaces, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
        var data = rows.Count > 1 ? rows.Skip(1) : rows;
        return rows[0].Length >= 2 && rows.All(r => r.Length == rows[0].Length)
            && data.All(r => r.Skip(1).All(f => double.TryParse(f, NumberStyles.Float, CultureInfo.InvariantCulture, out _) || f is "NA" or "?"));
    }

    /// <summary>How many records the separator is chosen from.</summary>
    internal const int SniffRecords = 20;

    // The number of fields every line splits into with this separator, or 0 when they differ (or a quote is not closed).
    private static int SameFieldCount(List<string> sample, char delimiter)
    {
        var count = -1;
        foreach (var text in sample)
        {
            int fields;
            try
            {
                fields = Split(text, delimiter, string.Empty, 0).Length;
            }
            catch (InvalidDataException)
            {
                return 0;
            }

            if (count >= 0 && fields != count)
            {
                return 0;
            }

            count = fields;
        }

        return Math.Max(count, 0);
    }

    // "sep=;" (quoted or not), as spreadsheets write it above the header; null for any other line.
    private static char? SeparatorLine(string line)
    {
        var text = line.Trim().Trim('"');
        return text.Length == 5 && text.StartsWith("sep=", StringComparison.OrdinalIgnoreCase) ? text[4] : null;
    }

    /// <summary>
    /// The records of the kept lines, each split when it is read; the first one once, since the column count and the
    /// header are read from it for every row (the stop hook's re-read: it was split again per row).
    /// </summary>
    private sealed class LineRecords(List<(int Line, string Text)> lines, char delimiter, string path) : IReadOnlyList<Record>
    {
        private Record? _first;

        public int Count => lines.Count;

        public Record this[int index] => index == 0 ? _first ??= Make(0) : Make(index);

        private Record Make(int index) => new(lines[index].Line, Split(lines[index].Text, delimiter, path, lines[index].Line));

        public IEnumerator<Record> GetEnumerator()
        {
            for (var i = 0; i < lines.Count; i++)
            {
                yield return this[i];
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    private static string[] Split(string line, char delimiter, string path, int number)
    {
        if (delimiter == Spaces)
        {
            // Runs of spaces separate fields, so a field cannot be empty; nor quoted (a quoted "a b" would be cut in two).
            return line.Contains('"')
                ? throw new InvalidDataException($"'{path}' line {number}: a quoted field in a file whose fields are separated by spaces; write the file with ',' or ';' between fields.")
                : line.Split(Spaces, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }

        if (!line.Contains('"'))
        {
            // The common case without the character-by-character builder: fields between delimiters, trimmed.
            var parts = line.Split(delimiter);
            for (var i = 0; i < parts.Length; i++)
            {
                parts[i] = parts[i].Trim();
            }

            return parts;
        }

        var fields = new List<string>();
        var field = new System.Text.StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"' && field.ToString().Trim().Length == 0)
            {
                quoted = true;
                field.Clear();
            }
            else if (c == delimiter)
            {
                fields.Add(field.ToString().Trim());
                field.Clear();
            }
            else
            {
                field.Append(c);
            }
        }

        if (quoted)
        {
            throw new InvalidDataException($"'{path}' line {number}, column {fields.Count + 1}: a quoted field is not closed on its line.");
        }

        fields.Add(field.ToString().Trim());
        return [.. fields];
    }
}
