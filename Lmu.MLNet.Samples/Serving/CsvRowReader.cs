using System.Globalization;
using System.Reflection;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// Reads a CSV file lazily into <see cref="ServingInput"/> rows for <see cref="PredictColumns"/>: one line at a time,
/// so scoring a file holds one row however long the file is. A bad line stops the read with an
/// <see cref="InvalidDataException"/> naming the file, the line and the column (1-based), kept in <see cref="Failure"/>
/// because ML.NET may wrap what its cursor's source throws.
/// </summary>
internal sealed class CsvRowReader
{
    private readonly string _path;
    private readonly PredictColumns _columns;
    private readonly int _steps;
    private readonly string _expected;
    private readonly int _width;
    private readonly Action<ServingInput, float[]>[] _vectors;
    private readonly Action<ServingInput, float>[] _nans;

    /// <param name="path">The CSV file.</param>
    /// <param name="columns">What each line holds.</param>
    /// <param name="steps">Largest sequence length a length field may hold.</param>
    /// <param name="expected">How the line's values are described in a count mismatch, e.g. "24 values of 'Features'".</param>
    public CsvRowReader(string path, PredictColumns columns, int steps, string expected)
    {
        _path = path;
        _columns = columns;
        _steps = steps;
        _expected = expected;
        _width = columns.Fields.Sum(f => f.Width);
        _vectors = columns.Fields.Select(f => f.IsLength ? null! : Setter<float[]>(f.Member)).ToArray();
        _nans = columns.NaNMembers.Select(Setter<float>).ToArray();
    }

    /// <summary>Rows read so far.</summary>
    public long Rows { get; private set; }

    /// <summary>The error that stopped the read, if any.</summary>
    public InvalidDataException? Failure { get; private set; }

    /// <summary>The file's rows, read as they are enumerated (blank lines skipped).</summary>
    public IEnumerable<ServingInput> Read()
    {
        var number = 0;
        foreach (var line in Lmu.MLNet.Data.StrictTextLines.Read(_path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            ServingInput row;
            try
            {
                row = Parse(line, number);
            }
            catch (InvalidDataException e)
            {
                Failure = e;
                throw;
            }

            Rows++;
            yield return row;
        }
    }

    /// <summary>
    /// What a line of the wrong width most likely is, when it says so: the training file given to predict (a header, a
    /// label column) or a ';'-separated one (found by QA: "61 values; the model expects 60" gave no hint of the layout).
    /// </summary>
    private string LayoutHint(string line, string[] fields)
    {
        if (fields.Length == 1 && (line.Contains(';') || line.Contains('\t') || line.Trim().Contains(' ')))
        {
            // Spaces: NumPy's savetxt default, which classify and forecast read (review of the space-separated reading).
            return $" predict reads values separated by ',' (this line has {(line.Contains('\t') ? "tabs" : line.Contains(';') ? "';'" : "spaces")}).";
        }

        if (line.Contains(';'))
        {
            // QA: "1,25;0,5;..." was named as text ('25;0'), not as the decimal comma it is.
            return " The line has ';' between values and ',' inside them, as a decimal comma: predict reads values separated by ',' with '.' as the decimal mark.";
        }

        var text = TextHint(fields);
        if (text.Length > 0)
        {
            return text;
        }

        return fields.Length == _width + 1 ? " One value too many: predict reads no label column." : string.Empty;
    }

    private static string TextHint(string[] fields)
    {
        var text = fields.Select(f => f.Trim()).FirstOrDefault(f => f.Length > 0 && !float.TryParse(f, NumberStyles.Float, CultureInfo.InvariantCulture, out _));
        return text is null ? string.Empty : $" The line holds text ('{text}'): predict reads rows of numbers only, with no header line and no label column.";
    }

    private ServingInput Parse(string line, int number)
    {
        var fields = line.Split(',');
        if (fields.Length != _width)
        {
            var length = _columns.Fields.FirstOrDefault(f => f.IsLength);
            throw new InvalidDataException(length is not null && fields.Length == _width - 1
                // A header line is one value short too: the text hint says what it is (found by QA).
                ? $"{_path} line {number}: the length column '{length.Column}' is missing; expected {_expected}, then the length (a whole number from 1 to {_steps}), {_width} values in all; got {fields.Length}." + TextHint(fields)
                : $"{_path} line {number}: {fields.Length} values; the model expects {_width} ({_expected}{(length is null ? string.Empty : $", then the length column '{length.Column}'")})." + LayoutHint(line, fields));
        }

        var row = new ServingInput();
        foreach (var nan in _nans)
        {
            nan(row, float.NaN);
        }

        var padded = PaddingFrom(fields, number);
        var at = 0;
        for (var f = 0; f < _columns.Fields.Count; f++)
        {
            var field = _columns.Fields[f];
            if (field.IsLength)
            {
                SetLength(row, field, Length(field.Column, fields[at].Trim(), number));
            }
            else
            {
                var values = new float[field.Width];
                for (var k = 0; k < values.Length; k++)
                {
                    var text = fields[at + k];
                    if (!InputNumbers.TryParse(text, out values[k], out var finite))
                    {
                        throw new InvalidDataException($"{_path} line {number}, column {at + k + 1}: value {k + 1} of '{field.Column}' is '{text.Trim()}'; expected a number.");
                    }

                    if (!finite && k >= padded)
                    {
                        // Padding past the row's length, which the model never reads (UCR's variable-length files pad
                        // with NaN; the library's Fit and the fitted model take it, and predict refused it: regression QA).
                        values[k] = 0;
                    }
                    else if (!finite)
                    {
                        throw new InvalidDataException(
                            $"{_path} line {number}, column {at + k + 1}: value {k + 1} of '{field.Column}' is '{text.Trim()}'; it {InputNumbers.Rule} (NaN and Infinity cannot be scored). Fix or drop that row.");
                    }
                }

                _vectors[f](row, values);
            }

            at += field.Width;
        }

        return row;
    }

    /// <summary>
    /// The first value index that is padding (past the row's length column), or int.MaxValue when there is none or the
    /// values' steps are not known: with one channel value k is step k in either layout; with several, which values are
    /// a step's depends on the model's layout, which a zip does not record, so nothing is taken as padding.
    /// </summary>
    private int PaddingFrom(string[] fields, int number)
    {
        var at = 0;
        var features = 0;
        foreach (var field in _columns.Fields)
        {
            if (field.IsLength)
            {
                return features == _steps ? Length(field.Column, fields[at].Trim(), number) : int.MaxValue;
            }

            features += field.Width;
            at += field.Width;
        }

        return int.MaxValue;
    }

    private int Length(string column, string text, int number)
    {
        if (text.Length == 0)
        {
            throw new InvalidDataException($"{_path} line {number}: the length column '{column}' is missing (empty last value); expected a whole number from 1 to {_steps}.");
        }

        // Doubles parse every integer up to 2^53 exactly, so "3", "3.0" and "3e0" all read as 3 and "2.5" is caught.
        var ok = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value);
        var features = _columns.Fields.Where(f => !f.IsLength).Sum(f => f.Width);
        return ok && value == Math.Floor(value) && value >= 1 && value <= _steps
            ? (int)value
            : throw new InvalidDataException(
                $"{_path} line {number}: length column '{column}' is '{text}'; expected a whole number from 1 to {_steps} (the sequence length: {features} values / {features / _steps} channel(s)).");
    }

    private static void SetLength(ServingInput row, CsvField field, int n)
    {
        var property = typeof(ServingInput).GetProperty(field.Member)!;
        object value = field.Member[0] switch
        {
            'S' => (object)(float)n,
            'I' => (object)n,
            'U' => (object)(uint)n,
            _ => (object)(long)n,
        };
        property.SetValue(row, value);
    }

    private static Action<ServingInput, T> Setter<T>(string member) =>
        typeof(ServingInput).GetProperty(member, BindingFlags.Public | BindingFlags.Instance)!.SetMethod!.CreateDelegate<Action<ServingInput, T>>();
}
