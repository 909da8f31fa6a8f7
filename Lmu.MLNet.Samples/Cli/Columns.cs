using System.Globalization;

namespace Lmu.MLNet.Samples.Cli;

/// <summary>
/// The columns of a <see cref="DelimitedFile"/>: its header (when it has one) and how a command-line column reference
/// resolves, by header name first, else as a 1-based column number (the numbering every error message uses).
/// </summary>
internal sealed class Columns
{
    private Columns(DelimitedFile file, string[]? header)
    {
        File = file;
        Header = header;
    }

    /// <summary>The file.</summary>
    public DelimitedFile File { get; }

    /// <summary>The header's names, or null for a file without a header.</summary>
    public string[]? Header { get; }

    /// <summary>The data records (the header left out).</summary>
    public IEnumerable<DelimitedFile.Record> Data => Header is null ? File.Records : File.Records.Skip(1);

    /// <summary>Fields per record: the header's, else the first record's.</summary>
    public int Count => File.Records[0].Fields.Length;

    /// <summary>
    /// Decides whether the first record is a header: <paramref name="header"/> "yes" or "no" says so; "auto" takes it as
    /// one when a column reference is a name rather than a number, or when a field of the first record that
    /// <paramref name="numeric"/> says must be a number is not one.
    /// </summary>
    public static Columns Open(DelimitedFile file, string header, IEnumerable<string> references, Func<int, bool> numeric)
    {
        var first = file.Records[0].Fields;
        foreach (var r in references.Where(r => IsColumnNumber(r) && !first.Contains(r, StringComparer.Ordinal)))
        {
            // Out of range and no header name either: without this, the first line was taken as a header and its values
            // listed as column names (found by QA).
            if (!long.TryParse(r, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1 || n > first.Length)
            {
                throw new ArgumentException($"'{file.Path}' line {file.Records[0].Line}: column {r} does not exist; the lines have {first.Length} fields (separated by {file.SeparatorName}), so give a number from 1 to {first.Length} (or a header name).");
            }
        }

        var isHeader = header.ToLowerInvariant() switch
        {
            "yes" or "true" => true,
            "no" or "false" => false,
            "auto" => references.Any(r => !IsColumnNumber(r)) || first.Where((_, i) => numeric(i)).Any(f => !IsNumberLike(f) && !(file.Delimiter == ';' && DelimitedFile.IsDecimalComma(f))),
            _ => throw new ArgumentException($"--header '{header}' must be auto, yes or no."),
        };
        if (isHeader && file.Records.Count < 2)
        {
            throw new InvalidDataException($"'{file.Path}': the file has a header line and no data lines.");
        }

        return new Columns(file, isHeader ? first : null);
    }

    /// <summary>The 0-based index of <paramref name="reference"/> (a header name, else a 1-based number); an error naming the file, its header line and the columns otherwise.</summary>
    public int Resolve(string reference, string option)
    {
        if (Header is not null)
        {
            var byName = Array.FindIndex(Header, h => string.Equals(h, reference, StringComparison.Ordinal));
            if (byName < 0)
            {
                byName = Array.FindIndex(Header, h => string.Equals(h, reference, StringComparison.OrdinalIgnoreCase));
            }

            if (byName >= 0 && IsColumnNumber(reference) && int.Parse(reference, CultureInfo.InvariantCulture) - 1 is var number && number != byName && number < Count)
            {
                // "1" by default means column 1, but a header of numbers (0, 1, 2, ... as pandas and numpy write) names
                // another column "1": taking either silently picked the wrong label for some users (found by QA).
                throw new InvalidDataException(
                    $"'{File.Path}' line {File.Records[0].Line} (header): {option} '{reference}' is both column {number + 1} and the name of column {byName + 1}; give the column's header name instead (the columns are {Describe(Header)}).");
            }

            // The twin is sought as the name was found (exactly, else ignoring case), so Value and value both count.
            var comparison = string.Equals(Header[Math.Max(byName, 0)], reference, StringComparison.Ordinal) ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;
            if (byName >= 0 && Array.FindLastIndex(Header, h => string.Equals(h, reference, comparison)) is var twin && twin != byName)
            {
                // Two columns of one name: the first was taken silently (found by QA).
                throw new InvalidDataException(
                    $"'{File.Path}' line {File.Records[0].Line} (header): {option} '{reference}' names columns {byName + 1} and {twin + 1}; rename one, or give the column number.");
            }

            if (byName >= 0)
            {
                return byName;
            }
        }

        if (IsColumnNumber(reference) && int.Parse(reference, CultureInfo.InvariantCulture) is var n && n >= 1 && n <= Count)
        {
            return n - 1;
        }

        var where = Header is null
            ? $"'{File.Path}' line {File.Records[0].Line}: {option} '{reference}' is not a column: the file has no header line, so give a column number from 1 to {Count}"
            : $"'{File.Path}' line {File.Records[0].Line} (header): {option} '{reference}' is not a column; the columns are {Describe(Header)} (separated by {File.SeparatorName})";
        throw new InvalidDataException(where + "." + File.SeparatorHint());
    }

    /// <summary>How an error names column <paramref name="index"/> (0-based): "column 3 ('Rentals')", or "column 3".</summary>
    public string Name(int index) =>
        Header is not null && index < Header.Length && Header[index].Length > 0 ? $"column {index + 1} ('{Header[index]}')" : $"column {index + 1}";

    /// <summary>A value as the error messages and the number rule see it: empty, "NaN" and "?" are missing.</summary>
    public static bool IsMissing(string field) => field.Length == 0 || field is "?" or "NaN" or "nan" or "NA";

    private static bool IsNumberLike(string field) =>
        IsMissing(field) || double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    private static bool IsColumnNumber(string reference) =>
        reference.Length > 0 && reference.All(char.IsAsciiDigit);

    private static string Describe(string[] header) =>
        header.Length <= 12 ? string.Join(", ", header) : string.Join(", ", header.Take(12)) + $", ... ({header.Length} in all)";
}
