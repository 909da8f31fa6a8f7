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

    private static ValueGetter<VBuffer<T>> Checked<T>(ValueGetter<VBuffer<T>> getter, DataViewSchema.Column column, VectorDataViewType type, Func<long> position) =>
        (ref VBuffer<T> value) =>
        {
            getter(ref value);
            if (value.Length != type.Size)
            {
                // ArgumentException, as ONNX Runtime's own shape error was, so callers' handlers still match.
                throw new ArgumentException(
                    $"Column '{column.Name}', row {position()}: {value.Length} values, but the column's type is Vector<{type.ItemType}, {type.Size}>; " +
                    $"each row must hold exactly {type.Size} (check the array's length against its [VectorType({type.Size})]).");
            }
        };
}
