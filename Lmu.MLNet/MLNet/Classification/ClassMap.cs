using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Classification;

/// <summary>The classes in output (key) order and how a label value finds its index.</summary>
internal sealed class ClassMap
{
    private readonly Dictionary<string, int> _index;

    public ClassMap(IReadOnlyList<string> names, ClassifierLabelKind kind, string labelColumn)
    {
        Names = names;
        Kind = kind;
        LabelColumn = labelColumn;
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

            return KeyIndex(row, column, (KeyDataViewType)column.Type);
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

    private static Func<int> KeyIndex(DataViewRow row, DataViewSchema.Column column, KeyDataViewType type)
    {
        // Keys are stored as the smallest unsigned type that holds their count; read it as such and widen.
        switch (type.RawType)
        {
            case Type t when t == typeof(byte):
            {
                var g = row.GetGetter<byte>(column);
                byte v = 0;
                return () => { g(ref v); return v - 1; };
            }

            case Type t when t == typeof(ushort):
            {
                var g = row.GetGetter<ushort>(column);
                ushort v = 0;
                return () => { g(ref v); return v - 1; };
            }

            case Type t when t == typeof(uint):
            {
                var g = row.GetGetter<uint>(column);
                uint v = 0;
                return () => { g(ref v); return (int)v - 1; };
            }

            default:
            {
                var g = row.GetGetter<ulong>(column);
                ulong v = 0;
                return () => { g(ref v); return (int)v - 1; };
            }
        }
    }
}
