using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Scoring;

/// <summary>
/// Holds every value a known-size vector column's getter reads to the size its type declares. Why: a PredictionEngine
/// built on a class with <c>[VectorType(784)]</c> passes a 700-value array through as it is, and ONNX Runtime then
/// refused it with "Length of memory (700) must match product of dimensions (784)", naming no column (found by QA).
/// </summary>
internal sealed class VectorSizeRule : IGetterCheck
{
    /// <summary>The rule (stateless).</summary>
    public static readonly VectorSizeRule Instance = new();

    private static readonly MethodInfo CheckedMethod = typeof(VectorSizeRule).GetMethod(nameof(Checked), BindingFlags.NonPublic | BindingFlags.Static)!;

    private VectorSizeRule()
    {
    }

    /// <inheritdoc />
    public ValueGetter<TValue> Wrap<TValue>(DataViewSchema.Column column, ValueGetter<TValue> getter, Func<long> position)
    {
        if (column.Type is not VectorDataViewType { IsKnownSize: true } vector
            || !typeof(TValue).IsGenericType || typeof(TValue).GetGenericTypeDefinition() != typeof(VBuffer<>))
        {
            return getter;
        }

        // Once per getter, not per row: the item type is only known here.
        return (ValueGetter<TValue>)CheckedMethod.MakeGenericMethod(typeof(TValue).GetGenericArguments()[0]).Invoke(null, [getter, column, vector, position])!;
    }

    /// <summary>The size a vector column's type declares, or 0 when it is not a known-size vector.</summary>
    public static int KnownSize(DataViewSchema.Column column) =>
        column.Type is VectorDataViewType { IsKnownSize: true } type ? type.Size : 0;

    /// <summary>
    /// For the Fits' own row readers, when a row of a known-size vector column holds another number of values
    /// (<paramref name="where"/> names the component, column and row). Why: ML.NET passes an array of the wrong length
    /// through <c>LoadFromEnumerable</c> as it is, and the Fits trained on a short row padded with zeros or spliced with
    /// the previous row's values, and failed on a long one in .NET's words, where the fitted model's scoring refuses both
    /// (found by QA).
    /// </summary>
    public static string SizeMessage(DataViewSchema.Column column, int length, string where) =>
        $"{where}: {length} values, but the column's type is {column.Type}; each row must hold exactly {KnownSize(column)} " +
        $"(check the array's length against its [VectorType({KnownSize(column)})]).";

    private static ValueGetter<VBuffer<T>> Checked<T>(ValueGetter<VBuffer<T>> getter, DataViewSchema.Column column, VectorDataViewType type, Func<long> position) =>
        (ref VBuffer<T> value) =>
        {
            getter(ref value);
            if (value.Length != type.Size)
            {
                // ArgumentException, as ONNX Runtime's own shape error was, so callers' handlers still match.
                throw new ArgumentException(
                    $"Column '{column.Name}', row {position()}: {value.Length} values, but the column's type is Vector<{type.ItemType}, {type.Size}>; " +
                    $"each row must hold exactly {type.Size} (check the array's length against its [VectorType({type.Size})]). " +
                    // QA: a pooled engine said "row 221" for a one-row call.
                    "The row is counted from 0 by the cursor that read it; through a PredictionEngine, that counts the calls the engine has served.");
            }
        };
}
