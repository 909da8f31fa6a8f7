using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>How one model column travels as JSON.</summary>
internal enum ServingKind
{
    /// <summary>Vector&lt;Single, N&gt;: a JSON array of N numbers.</summary>
    Vector,

    /// <summary>Single: a JSON number.</summary>
    Scalar,

    /// <summary>Int32, UInt32 or Int64 (a classifier's sequence length, say): a JSON number with a whole value in the type's range.</summary>
    Integer,

    /// <summary>Text: a JSON string.</summary>
    Text,

    /// <summary>A key (output only): the class name from its key values, else the 1-based index.</summary>
    Key,
}

/// <summary>One model column bound to a slot of <see cref="ServingInput"/>/<see cref="ServingOutput"/>.</summary>
/// <param name="Name">Column name in the model.</param>
/// <param name="Kind">JSON shape.</param>
/// <param name="Size">Vector length (0 for non-vectors).</param>
/// <param name="Required">Input only: the model cannot score without it (text columns such as a label are never required).</param>
/// <param name="Member">The row-type member it is bound to.</param>
/// <param name="Type">The ML.NET column type.</param>
internal sealed record ServingColumn(string Name, ServingKind Kind, int Size, bool Required, string Member, DataViewType Type)
{
    /// <summary>
    /// Input only: the largest sequence length T when this column is a classifier's length column (a whole number from
    /// 1 to T, as <c>predict</c> requires); null for every other column.
    /// </summary>
    public int? MaxLength { get; init; }

    /// <summary>The kind of a column type, or null when the service cannot carry it.</summary>
    public static ServingKind? KindOf(DataViewType type) => type switch
    {
        VectorDataViewType { ItemType: NumberDataViewType n, Size: > 0 } when n.RawType == typeof(float) => ServingKind.Vector,
        NumberDataViewType n when n.RawType == typeof(float) => ServingKind.Scalar,
        NumberDataViewType n when n.RawType == typeof(int) || n.RawType == typeof(uint) || n.RawType == typeof(long) => ServingKind.Integer,
        TextDataViewType => ServingKind.Text,
        KeyDataViewType { RawType: var r } when r == typeof(uint) => ServingKind.Key,
        _ => null,
    };

    /// <summary>Class names carried by a column: a key's KeyValues or a score vector's SlotNames; null when absent.</summary>
    public static IReadOnlyList<string>? Names(DataViewSchema.Column column)
    {
        var kind = column.Type is KeyDataViewType ? "KeyValues" : "SlotNames";
        if (column.Annotations.Schema.GetColumnOrNull(kind) is null)
        {
            return null;
        }

        VBuffer<ReadOnlyMemory<char>> names = default;
        column.Annotations.GetValue(kind, ref names);
        return names.DenseValues().Select(n => n.ToString()).ToArray();
    }
}
