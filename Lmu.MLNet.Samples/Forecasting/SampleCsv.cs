using System.Globalization;

namespace Lmu.MLNet.Samples.Forecasting;

/// <summary>
/// Reads the forecasting samples' shared CSV files (M4 Hourly, bike sharing, the Mackey-Glass reference) so that a bad
/// value or a short line is named by file, line and column: they failed with "The input string 'abc' was not in a
/// correct format" or "Offset and length were out of bounds", naming nothing (found by QA).
/// </summary>
internal static class SampleCsv
{
    /// <summary>The data lines (after the header) split on commas, each with its 1-based line number in the file.</summary>
    public static IEnumerable<(int Line, string[] Fields)> Rows(string path) =>
        Lmu.MLNet.Data.StrictTextLines.Read(path).Select((text, i) => (Line: i + 1, Fields: text.Split(','))).Skip(1).Where(r => r.Fields.Length > 1 || r.Fields[0].Length > 0);

    /// <summary>Field <paramref name="column"/> (0-based) of a row, or an error naming where it is missing.</summary>
    public static string Field(string path, (int Line, string[] Fields) row, int column) =>
        column < row.Fields.Length
            ? row.Fields[column].Trim('"')
            : throw new InvalidDataException($"{path} line {row.Line}: expected at least {column + 1} comma-separated fields, got {row.Fields.Length}.");

    /// <summary>A finite number in invariant culture, or an error naming the file, line, column and text.</summary>
    public static double Number(string path, int line, int column, string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value)
            ? value
            : throw new InvalidDataException($"{path} line {line}, column {column + 1}: '{text}' is not a finite number.");
}
