using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Data;

/// <summary>
/// A labelled time-series classification set (e.g. one split of a UCR/UEA dataset), univariate or multivariate,
/// equal or variable length, read by <see cref="UcrLoader"/>.
/// </summary>
public sealed class TimeSeriesDataset
{
    /// <summary>Creates a dataset; every row must have <paramref name="channels"/> values per step.</summary>
    public TimeSeriesDataset(string name, int channels, IReadOnlyList<string> classLabels, IReadOnlyList<TimeSeriesRow> rows)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        foreach (var r in rows)
        {
            if (r.Values.Length != r.Length * channels)
            {
                throw new ArgumentException($"Dataset '{name}': a row has {r.Values.Length} values, not Length {r.Length} x Channels {channels}.", nameof(rows));
            }
        }

        Name = name;
        Channels = channels;
        ClassLabels = classLabels;
        Rows = rows;
    }

    /// <summary>Name (file name without the split suffix).</summary>
    public string Name { get; }

    /// <summary>Values per step.</summary>
    public int Channels { get; }

    /// <summary>Class labels in key order: as declared by a .ts header, else sorted (numerically when all are numbers).</summary>
    public IReadOnlyList<string> ClassLabels { get; }

    /// <summary>The series.</summary>
    public IReadOnlyList<TimeSeriesRow> Rows { get; }

    /// <summary>Longest series, in steps.</summary>
    public int MaxLength => Rows.Count == 0 ? 0 : Rows.Max(r => r.Length);

    /// <summary>True when every series has the same length.</summary>
    public bool EqualLength => Rows.Select(r => r.Length).Distinct().Count() <= 1;

    /// <summary>Index of each row's label in <see cref="ClassLabels"/>.</summary>
    public int[] LabelIndices()
    {
        var index = ClassLabels.Select((l, i) => (l, i)).ToDictionary(p => p.l, p => p.i, StringComparer.Ordinal);
        return Rows.Select(r => index.TryGetValue(r.Label, out var i)
            ? i
            : throw new InvalidDataException($"Dataset '{Name}': label '{r.Label}' is not among the declared classes {string.Join(", ", ClassLabels)}.")).ToArray();
    }

    /// <summary>
    /// Rows padded with zeros or cut (keeping the first steps) to <paramref name="steps"/>,
    /// row-major <c>[Rows, steps * Channels]</c>, with each row's kept length.
    /// </summary>
    /// <param name="steps">Steps per row.</param>
    /// <param name="rightAlign">
    /// Put the zeros before the real steps instead of after them (default false), so that the last step of every row
    /// is its real last step: the layout an LMU classifier without a length input needs.
    /// </param>
    public (float[] Values, int[] Lengths) Padded(int steps, bool rightAlign = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        var width = steps * Channels;
        var values = new float[Rows.Count * width];
        var lengths = new int[Rows.Count];
        for (var i = 0; i < Rows.Count; i++)
        {
            var n = Math.Min(Rows[i].Length, steps);
            var offset = rightAlign ? (steps - n) * Channels : 0;
            Rows[i].Values.AsSpan(0, n * Channels).CopyTo(values.AsSpan(i * width + offset));
            lengths[i] = n;
        }

        return (values, lengths);
    }

    /// <summary>
    /// An IDataView with <c>Label</c> (text), <c>Features</c> (<c>Vector&lt;Single, steps*Channels&gt;</c>, padded as in
    /// <see cref="Padded"/>) and <c>Length</c> (Single: the kept steps, for LmuFeaturize's LengthColumnName).
    /// </summary>
    /// <param name="ml">The context.</param>
    /// <param name="steps">Steps per row. Default: <see cref="MaxLength"/>.</param>
    /// <param name="rightAlign">Zeros before the real steps (see <see cref="Padded"/>). Default false.</param>
    public IDataView ToDataView(MLContext ml, int? steps = null, bool rightAlign = false)
    {
        ArgumentNullException.ThrowIfNull(ml);
        var t = steps ?? MaxLength;
        var (values, lengths) = Padded(t, rightAlign);
        var width = t * Channels;
        var rows = Rows.Select((r, i) => new TimeSeriesDataRow
        {
            Label = r.Label, Features = values.AsSpan(i * width, width).ToArray(), Length = lengths[i],
        }).ToList();
        var def = SchemaDefinition.Create(typeof(TimeSeriesDataRow));
        def[nameof(TimeSeriesDataRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        return ml.Data.LoadFromEnumerable(rows, def);
    }

    /// <summary>
    /// The first missing value (NaN) inside a row's length, as the row and the value's index in the row (time-major: step
    /// index / Channels, channel index % Channels); null when every row is complete. Trailing NaN that pad a shorter row
    /// lie beyond its length. The loaders keep such values; callers that need complete rows refuse them in their terms.
    /// </summary>
    internal (int Row, int Index)? FirstMissingValue()
    {
        for (var i = 0; i < Rows.Count; i++)
        {
            var at = Array.FindIndex(Rows[i].Values, 0, Rows[i].Length * Channels, float.IsNaN);
            if (at >= 0)
            {
                return (i, at);
            }
        }

        return null;
    }
}
