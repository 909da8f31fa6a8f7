using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Featurize;

/// <summary>Schema checks of the featurizer, with messages naming the column, what was expected and what was found.</summary>
internal static class LmuFeaturizerSchema
{
    /// <summary>
    /// <paramref name="input"/> with the features column, replacing a column of the same name: a known-size
    /// Vector&lt;Single&gt;, with SlotNames when an output of <paramref name="slots"/> slots gets them
    /// (<see cref="Onnx.LmuOnnxSlotNames.Named"/>).
    /// </summary>
    public static SchemaShape OutputShape(SchemaShape input, string outputColumnName, long slots) => SchemaShapes.With(
        input,
        Onnx.LmuOnnxSlotNames.Named(slots)
            ? SchemaShapes.Column(outputColumnName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false, SchemaShapes.TextAnnotation("SlotNames"))
            : SchemaShapes.Column(outputColumnName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false));

    /// <summary>Checks a concrete schema and returns the resolved sequence length.</summary>
    /// <param name="o">The options.</param>
    /// <param name="schema">The schema to check.</param>
    /// <param name="knownLength">The fitted sequence length (scoring), or null (Fit).</param>
    /// <param name="component">The catalog name in messages.</param>
    /// <param name="fittedLengthType">The length column's type at Fit (scoring: the graph's input takes that type), or null.</param>
    public static int Check(LmuFeaturizerOptions o, DataViewSchema schema, int? knownLength = null, string component = "LmuFeaturize", DataViewType? fittedLengthType = null)
    {
        RefuseSkippedNames(o, component);
        var column = schema.GetColumnOrNull(o.InputColumnName)
                     ?? throw Missing(component, o.InputColumnName, "input", string.Join(", ", schema.Select(c => c.Name)));
        // In place, the graph's output is named input + ".lmu" and dropped after the copy back: a user column of that name
        // was dropped with it (found by QA).
        if (o.OutputColumnName == o.InputColumnName && schema.GetColumnOrNull(o.OutputColumnName + ".lmu") is { IsHidden: false })
        {
            throw new ArgumentException(
                $"{component}: column '{o.OutputColumnName}.lmu' has the name the in-place featurizer uses for its own output; rename it or write the features to another column.",
                nameof(schema));
        }

        if (column.Type is not VectorDataViewType vector || vector.ItemType != NumberDataViewType.Single)
        {
            throw new ArgumentException(
                $"{component}: input column '{o.InputColumnName}' must be a fixed-size Vector<Single> but is {column.Type}. " +
                // ConvertType keeps a scalar a scalar: the advice differs for a scalar column and a vector of another type (found by QA).
                (column.Type is VectorDataViewType
                    ? "Convert it first (e.g. mlContext.Transforms.Conversion.ConvertType(..., DataKind.Single))."
                    : "It holds one value per row; a sequence is one row's vector (e.g. mlContext.Transforms.Concatenate of the step columns, or a loader's vector column)."),
                nameof(schema));
        }

        if (vector.Size == 0)
        {
            throw new ArgumentException(
                $"{component}: input column '{o.InputColumnName}' is a variable-size vector; ML.NET's OnnxTransformer needs a fixed size. " +
                "Pad rows to SequenceLength*Channels values and give their real step count in LengthColumnName (the UCR loaders do this).",
                nameof(schema));
        }

        // Values are read in row-major order, which is step-major only for a [steps, channels] shape whose last dimension
        // is Channels: any other shape was read as one long channel without a word (ML.NET QA: Vector<Single, 4, 4>
        // featurized as 16 steps of 1 channel, where the classifier refused it).
        if (vector.Dimensions.Length > 1 && (vector.Dimensions.Length != 2 || vector.Dimensions[1] != o.Channels))
        {
            throw new ArgumentException(
                $"{component}: input column '{o.InputColumnName}' has shape {column.Type}; a multi-dimensional input must be [steps, channels] with its last " +
                $"dimension equal to Channels ({o.Channels}). Set Channels = {vector.Dimensions[^1]} if its rows are steps, or flatten it (a VectorType of {vector.Size} values).",
                nameof(schema));
        }

        if (vector.Size % o.Channels != 0)
        {
            throw new ArgumentException(
                $"{component}: input column '{o.InputColumnName}' has {vector.Size} values, not a multiple of Channels = {o.Channels}.", nameof(schema));
        }

        var length = knownLength ?? o.SequenceLength ?? vector.Size / o.Channels;
        if (vector.Size != length * o.Channels)
        {
            throw new ArgumentException(
                $"{component}: input column '{o.InputColumnName}' must have SequenceLength * Channels = {length} * {o.Channels} = {length * o.Channels} values but has {vector.Size}.",
                nameof(schema));
        }

        foreach (var p in o.WindowPositions)
        {
            if (p >= length)
            {
                throw new ArgumentException($"{component}: window position {p} must be below the sequence length {length} (the last step is always emitted).", nameof(schema));
            }
        }

        if (o.LengthColumnName is not null)
        {
            var lengthColumn = schema.GetColumnOrNull(o.LengthColumnName)
                               ?? throw Missing(component, o.LengthColumnName, "length", string.Join(", ", schema.Select(c => c.Name)));
            // Single, Int32, UInt32 or Int64, as the classifier takes (only Single was, found by QA); scoring needs the type
            // the graph was built for.
            if (fittedLengthType is null ? !Classification.ClassifierInputLayout.IsLengthType(lengthColumn.Type) : lengthColumn.Type != fittedLengthType)
            {
                throw new ArgumentException(
                    $"{component}: length column '{o.LengthColumnName}' must be " +
                    (fittedLengthType is null ? "a scalar Single, Int32, UInt32 or Int64" : $"{fittedLengthType} (the type it had at Fit)") + $" but is {lengthColumn.Type}.",
                    nameof(schema));
            }
        }

        return length;
    }

    private static void RefuseSkippedNames(LmuFeaturizerOptions o, string component) =>
        OnnxCarrier.RefuseSkippedNames(component, ("input", o.InputColumnName), ("output", o.OutputColumnName), ("length", o.LengthColumnName));

    /// <summary>Checks a schema shape (no vector sizes there): the columns exist with usable kinds.</summary>
    public static void Check(LmuFeaturizerOptions o, SchemaShape shape, string component = "LmuFeaturize")
    {
        RefuseSkippedNames(o, component);
        if (!TryFind(shape, o.InputColumnName, out var column))
        {
            throw Missing(component, o.InputColumnName, "input", string.Join(", ", shape.Select(c => c.Name)));
        }

        if (column.Kind != SchemaShape.Column.VectorKind.Vector || column.ItemType != NumberDataViewType.Single)
        {
            var kind = column.Kind == SchemaShape.Column.VectorKind.VariableVector ? "a variable-size vector" : $"{column.Kind} of {column.ItemType}";
            throw new ArgumentException(
                $"{component}: input column '{o.InputColumnName}' must be a fixed-size Vector<Single> but is {kind}.", nameof(shape));
        }

        if (o.LengthColumnName is not null)
        {
            if (!TryFind(shape, o.LengthColumnName, out var length))
            {
                throw Missing(component, o.LengthColumnName, "length", string.Join(", ", shape.Select(c => c.Name)));
            }

            if (length.Kind != SchemaShape.Column.VectorKind.Scalar || length.IsKey || !Classification.ClassifierInputLayout.IsLengthType(length.ItemType))
            {
                throw new ArgumentException($"{component}: length column '{o.LengthColumnName}' must be a scalar Single, Int32, UInt32 or Int64 but is {length.Kind} of {length.ItemType}.", nameof(shape));
            }
        }
    }

    // SchemaShape.TryFindColumn is internal; SchemaShape is a list of uniquely named columns.
    private static bool TryFind(SchemaShape shape, string name, out SchemaShape.Column column)
    {
        foreach (var c in shape)
        {
            if (c.Name == name)
            {
                column = c;
                return true;
            }
        }

        column = default;
        return false;
    }

    private static ArgumentOutOfRangeException Missing(string component, string name, string role, string available) =>
        new(name, $"{component}: {role} column '{name}' not found; the data has: {available}.");
}
