using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Classification;

/// <summary>Reads annotation vectors and label values of the common ML.NET types as invariant text.</summary>
internal static class KeyValueText
{
    /// <summary>The KeyValues annotation of <paramref name="column"/> as <paramref name="count"/> strings.</summary>
    public static IReadOnlyList<string> Read(DataViewSchema.Column column, DataViewSchema.Column annotation, int count)
    {
        var item = (annotation.Type as VectorDataViewType)?.ItemType ?? annotation.Type;
        string[] values = item switch
        {
            TextDataViewType => Get<ReadOnlyMemory<char>>(column, m => m.ToString()),
            NumberDataViewType n when n == NumberDataViewType.Single => Get<float>(column, v => v.ToString("R", CultureInfo.InvariantCulture)),
            NumberDataViewType n when n == NumberDataViewType.Double => Get<double>(column, v => v.ToString("R", CultureInfo.InvariantCulture)),
            NumberDataViewType n when n == NumberDataViewType.Int32 => Get<int>(column, v => v.ToString(CultureInfo.InvariantCulture)),
            NumberDataViewType n when n == NumberDataViewType.Int64 => Get<long>(column, v => v.ToString(CultureInfo.InvariantCulture)),
            NumberDataViewType n when n == NumberDataViewType.UInt32 => Get<uint>(column, v => v.ToString(CultureInfo.InvariantCulture)),
            BooleanDataViewType => Get<bool>(column, v => v ? "true" : "false"),
            _ => throw new ArgumentOutOfRangeException(
                nameof(annotation), $"Label column '{column.Name}' has KeyValues of type {item}; expected text, a number or a boolean."),
        };
        if (values.Length != count)
        {
            throw new ArgumentOutOfRangeException(nameof(annotation), $"Label column '{column.Name}' has {values.Length} KeyValues for a key of {count} values.");
        }

        return values;
    }

    /// <summary>
    /// The KeyValues of a training label as class names: as <see cref="Read"/>, and refused unless every name is distinct
    /// and not empty. The model's <c>PredictedLabel</c> is keyed by name (ML.NET's MapValueToKey, which merges equal
    /// names and reads "" as missing), so KeyValues [x, x, y] gave a Key&lt;2&gt; that disagreed with the highest score on
    /// most rows while <c>Score</c> kept 3 slots and Evaluate read 1.0 (found by QA). MapValueToKey never makes such keys;
    /// a hand-built view can.
    /// </summary>
    public static IReadOnlyList<string> ReadClassNames(DataViewSchema.Column column, DataViewSchema.Column annotation, int count)
    {
        var names = Read(column, annotation, count);
        var empty = names.ToList().IndexOf(string.Empty);
        if (empty >= 0)
        {
            throw new ArgumentOutOfRangeException(
                paramName: null, $"Label column '{column.Name}' has an empty KeyValues name for key {empty + 1}; every class needs a name of its own (key the labels with MapValueToKey, which never makes an empty name).");
        }

        var first = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < names.Count; i++)
        {
            if (!first.TryAdd(names[i], i))
            {
                throw new ArgumentOutOfRangeException(
                    paramName: null, $"Label column '{column.Name}' has the KeyValues name '{names[i]}' for keys {first[names[i]] + 1} and {i + 1}; class names must be distinct (key the labels with MapValueToKey, which never repeats a name).");
            }
        }

        return names;
    }

    /// <summary>A getter that reads a value label (text, number, boolean) as text, null when missing.</summary>
    public static Func<string?> ValueGetter(DataViewRow row, DataViewSchema.Column column) => column.Type switch
    {
        // As ML.NET's MapValueToKey reads text: as written, only the empty text missing. Trimmed, " a" and "a" were one
        // class named "a", which MapKeyToValue then answered for rows labelled " a" (found by QA).
        TextDataViewType => Getter<ReadOnlyMemory<char>>(row, column, m => m.Length == 0 ? null : m.ToString()),
        NumberDataViewType n when n == NumberDataViewType.Single => Getter<float>(row, column, v => float.IsNaN(v) ? null : v.ToString("R", CultureInfo.InvariantCulture)),
        NumberDataViewType n when n == NumberDataViewType.Double => Getter<double>(row, column, v => double.IsNaN(v) ? null : v.ToString("R", CultureInfo.InvariantCulture)),
        NumberDataViewType n when n == NumberDataViewType.Int32 => Getter<int>(row, column, v => v.ToString(CultureInfo.InvariantCulture)),
        NumberDataViewType n when n == NumberDataViewType.Int64 => Getter<long>(row, column, v => v.ToString(CultureInfo.InvariantCulture)),
        BooleanDataViewType => Getter<bool>(row, column, v => v ? "true" : "false"),
        _ => throw new ArgumentOutOfRangeException(nameof(column), $"Label column '{column.Name}' has unsupported type {column.Type}."),
    };

    /// <summary>Class order for value labels: numeric order for numbers, false before true, ordinal order for text.</summary>
    public static string[] Sort(IEnumerable<string> values, DataViewType type) =>
        type is NumberDataViewType
            ? values.OrderBy(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray()
            : values.Order(StringComparer.Ordinal).ToArray();

    private static Func<string?> Getter<T>(DataViewRow row, DataViewSchema.Column column, Func<T, string?> format)
    {
        var g = row.GetGetter<T>(column);
        T v = default!;
        return () =>
        {
            g(ref v);
            return format(v);
        };
    }

    private static string[] Get<T>(DataViewSchema.Column column, Func<T, string> format)
    {
        VBuffer<T> buffer = default;
        column.Annotations.GetValue("KeyValues", ref buffer);
        return buffer.DenseValues().Select(format).ToArray();
    }
}
