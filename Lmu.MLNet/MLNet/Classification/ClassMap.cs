using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Classification;

/// <summary>The classes in output (key) order and how a label value finds its index.</summary>
internal sealed class ClassMap
{
    private readonly Dictionary<string, int> _index;

    /// <param name="names">Class names in output order.</param>
    /// <param name="kind">How labels map.</param>
    /// <param name="labelColumn">The label column's name (for messages).</param>
    /// <param name="namedKeys">Key labels whose names came from the training column's KeyValues (not "1".."K").</param>
    public ClassMap(IReadOnlyList<string> names, ClassifierLabelKind kind, string labelColumn, bool namedKeys = false)
    {
        Names = names;
        Kind = kind;
        LabelColumn = labelColumn;
        NamedKeys = namedKeys;
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < names.Count; i++)
        {
            _index.TryAdd(names[i], i);
        }
    }

    /// <summary>Class names; index k is Score slot k and PredictedLabel key k+1.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>How labels map.</summary>
    public ClassifierLabelKind Kind { get; }

    /// <summary>The label column's name (for messages).</summary>
    public string LabelColumn { get; }

    /// <summary>Key labels named by the training column's KeyValues, so other data's keys are matched by those names.</summary>
    public bool NamedKeys { get; }

    /// <summary>A getter of the current row's class index (-1 when missing); unknown values throw naming the value.</summary>
    public Func<int> IndexGetter(DataViewRow row, DataViewSchema.Column column, string role)
    {
        if (Kind == ClassifierLabelKind.Key)
        {
            if (column.Type is not KeyDataViewType key || key.Count != (ulong)Names.Count)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(column), $"Label column '{column.Name}' in the {role} data has type {column.Type}; expected the training label's type Key<{Names.Count}> (map labels with the MapValueToKey fitted on the training data).");
            }

            var raw = KeyRaw(row, column, key);
            var count = key.Count;
            int index()
            {
                // A key past the type's count (an IDataView of the user's own can hold one) was an IndexOutOfRangeException
                // from the scan, or a wrong class once truncated from UInt64 (types QA).
                var v = raw();
                return v <= count
                    ? (int)v - 1
                    : throw new InvalidDataException(
                        $"Label column '{column.Name}', {role} row {row.Position}: key {v} is outside its type {column.Type} (keys 1 to {count}; 0 is the missing key).");
            }

            return KeysByName(column, role) is { } map ? () => index() is var k && k >= 0 ? map[k] : -1 : index;
        }

        var text = KeyValueText.ValueGetter(row, column);
        return () =>
        {
            var value = text();
            if (value is null)
            {
                return -1;
            }

            return _index.TryGetValue(value, out var i)
                ? i
                : throw new InvalidDataException(
                    $"Label column '{column.Name}', {role} row {row.Position}: value '{value}' is not one of the {Names.Count} training classes [{string.Join(", ", Names)}].");
        };
    }

    /// <summary>
    /// Where other data's keys carry KeyValues of their own in another order (a MapValueToKey fitted on other rows), key
    /// k's class is the training class of the same name: reading key k as class k scored the validation rows against the
    /// wrong classes and early stopping kept the wrong epoch, without a word (found by QA). Null when the order is the
    /// same or either side has no names; a name the training classes lack is refused.
    /// </summary>
    private int[]? KeysByName(DataViewSchema.Column column, string role)
    {
        var kv = column.Annotations.Schema.GetColumnOrNull("KeyValues");
        if (!NamedKeys || kv is null)
        {
            return null;
        }

        var names = KeyValueText.Read(column, kv.Value, Names.Count);
        if (names.SequenceEqual(Names, StringComparer.Ordinal))
        {
            return null;
        }

        var unknown = names.Where(n => !_index.ContainsKey(n)).ToList();
        if (unknown.Count > 0 || names.Distinct(StringComparer.Ordinal).Count() != names.Count)
        {
            throw new ArgumentOutOfRangeException(
                nameof(column),
                $"Label column '{column.Name}' in the {role} data has the key values [{string.Join(", ", names)}], which are not the training classes [{string.Join(", ", Names)}] in any order; map its labels with the MapValueToKey fitted on the training data.");
        }

        return names.Select(n => _index[n]).ToArray();
    }

    private static Func<ulong> KeyRaw(DataViewRow row, DataViewSchema.Column column, KeyDataViewType type)
    {
        // Keys are stored as the smallest unsigned type that holds their count; read it as such and widen.
        switch (type.RawType)
        {
            case Type t when t == typeof(byte):
            {
                var g = row.GetGetter<byte>(column);
                byte v = 0;
                return () => { g(ref v); return v; };
            }

            case Type t when t == typeof(ushort):
            {
                var g = row.GetGetter<ushort>(column);
                ushort v = 0;
                return () => { g(ref v); return v; };
            }

            case Type t when t == typeof(uint):
            {
                var g = row.GetGetter<uint>(column);
                uint v = 0;
                return () => { g(ref v); return v; };
            }

            default:
            {
                var g = row.GetGetter<ulong>(column);
                ulong v = 0;
                return () => { g(ref v); return v; };
            }
        }
    }
}
