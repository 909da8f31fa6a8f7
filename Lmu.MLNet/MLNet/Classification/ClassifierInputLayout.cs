using Lmu.MLNet.Onnx;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Classification;

/// <summary>
/// The input columns as checked against the options: which columns, their types, and the sequence shape. Every check
/// names the column with the expected and the actual type or size, before any row is read.
/// </summary>
internal sealed class ClassifierInputLayout
{
    private static readonly DataViewType[] ValueLabelTypes = [TextDataViewType.Instance, BooleanDataViewType.Instance];

    private static readonly DataViewType[] LengthTypes =
    [
        NumberDataViewType.Single, NumberDataViewType.Int32, NumberDataViewType.UInt32, NumberDataViewType.Int64,
    ];

    private ClassifierInputLayout(
        DataViewSchema.Column features, DataViewSchema.Column label, DataViewSchema.Column? length, int steps, int channels, bool variable,
        LmuInputLayout inputLayout)
    {
        InputLayout = inputLayout;
        Features = features;
        Length = length;
        Label = label;
        SequenceLength = steps;
        Channels = channels;
        IsVariableLength = variable;
        LabelKind = label.Type is KeyDataViewType ? ClassifierLabelKind.Key : ClassifierLabelKind.Value;
    }

    /// <summary>The features column.</summary>
    public DataViewSchema.Column Features { get; }

    /// <summary>The label column.</summary>
    public DataViewSchema.Column Label { get; }

    /// <summary>The sequence-length column, or null when rows are full length.</summary>
    public DataViewSchema.Column? Length { get; }

    /// <summary>The columns a cursor must read.</summary>
    public DataViewSchema.Column[] Columns => Length is { } n ? [Features, Label, n] : [Features, Label];

    /// <summary>Steps T (0 for a VarVector column whose length is found by scanning).</summary>
    public int SequenceLength { get; }

    /// <summary>Channels C.</summary>
    public int Channels { get; }

    /// <summary>How a row's vector holds the channels.</summary>
    public LmuInputLayout InputLayout { get; }

    /// <summary>True for a VarVector features column.</summary>
    public bool IsVariableLength { get; }

    /// <summary>How labels map to classes.</summary>
    public ClassifierLabelKind LabelKind { get; }

    /// <summary>Checks the features column (type and size) for training and scoring.</summary>
    public static (int Steps, bool Variable) CheckFeatures(DataViewSchema schema, string name, int sequenceLength, int channels)
    {
        var column = Find(schema, name, "features");
        if (column.Type is not VectorDataViewType { ItemType: NumberDataViewType n } vector || n != NumberDataViewType.Single)
        {
            throw new ArgumentOutOfRangeException(
                nameof(schema), $"Features column '{name}' has type {column.Type}; expected Vector<Single> (length x channels values) or VarVector<Single>.");
        }

        if (vector.Dimensions.Length > 1)
        {
            throw new ArgumentOutOfRangeException(
                nameof(schema),
                $"Features column '{name}' has shape {column.Type}; expected a flat Vector<Single> of length x channels values. Flatten it (a VectorType of " +
                $"{vector.Size} values; rows of a [steps, channels] array are step-major, LmuClassifierOptions.InputLayout's default, with Channels = {vector.Dimensions[^1]}).");
        }

        if (!vector.IsKnownSize)
        {
            return (sequenceLength, true);
        }

        var size = vector.Size;
        if (sequenceLength > 0 && size != sequenceLength * channels)
        {
            throw new ArgumentOutOfRangeException(
                nameof(schema),
                $"Features column '{name}' has {size} values per row; expected sequence length x channels = {sequenceLength} x {channels} = {sequenceLength * channels}.");
        }

        if (size % channels != 0)
        {
            throw new ArgumentOutOfRangeException(
                nameof(schema), $"Features column '{name}' has {size} values per row, which is not a multiple of Channels = {channels}.");
        }

        return (size / channels, false);
    }

    /// <summary>
    /// Refuses input columns (and a features column) that carry the names the fitted model uses for its own columns on
    /// the way to PredictedLabel: such a column was dropped from the output without a word, and a features column of
    /// that name trained fully, then failed in ONNX Runtime's words ("Duplicate definition of name"; found by QA).
    /// </summary>
    public static void RefuseReservedNames(IEnumerable<string> columns, string featureColumn, string paramName, string component = "LMU classifier")
    {
        string[] reserved = [SlotToScalarKey.IndexColumn, SlotToScalarKey.HashColumn, OnnxCarrier.PredictedClassColumn, OnnxCarrier.PredictedValueColumn];
        foreach (var name in columns.Append(featureColumn))
        {
            if (reserved.Contains(name, StringComparer.Ordinal))
            {
                throw new ArgumentOutOfRangeException(
                    paramName,
                    $"Column '{name}' has a name the {component} uses for its own columns ({string.Join(", ", reserved)}); rename it (for example with mlContext.Transforms.CopyColumns, then DropColumns).");
            }
        }
    }

    /// <summary>Refuses graph input and output columns whose names ML.NET's OnnxTransformer skips (<see cref="OnnxCarrier.RefuseSkippedNames"/>).</summary>
    public static void RefuseSkippedNames(LmuClassifierOptions options) => OnnxCarrier.RefuseSkippedNames(
        "LMU classifier", ("features", options.FeatureColumnName), ("length", options.LengthColumnName), ("score", options.ScoreColumnName));

    /// <summary>Checks the label column's type.</summary>
    public static DataViewSchema.Column CheckLabel(DataViewSchema schema, string name)
    {
        var column = Find(schema, name, "label");
        if (column.Type is NumberDataViewType)
        {
            // Numbers are accepted by Fit but not by ML.NET's evaluators as classes: MulticlassClassification.Evaluate
            // reads a Single label's value as the class index, so labels 1/2 silently gave wrong metrics. ML.NET's own
            // multiclass trainers refuse such labels too.
            throw new ArgumentOutOfRangeException(
                nameof(schema),
                $"Label column '{name}' has type {column.Type}; the LMU classifier needs a key label (or text), as ML.NET's multiclass trainers do. " +
                $"Add mlContext.Transforms.Conversion.MapValueToKey(\"{name}\") before it (and MapKeyToValue(\"PredictedLabel\") after it for the class names back, as text: \"3\" for 3): " +
                "with the numbers themselves MulticlassClassification.Evaluate would read them as class indices and report wrong metrics.");
        }

        var ok = column.Type is KeyDataViewType || ValueLabelTypes.Contains(column.Type);
        if (!ok)
        {
            throw new ArgumentOutOfRangeException(
                nameof(schema), $"Label column '{name}' has type {column.Type}; expected a key (MapValueToKey), String or Boolean.");
        }

        if (column.Type is KeyDataViewType key && (key.Count < 2 || key.Count > int.MaxValue))
        {
            throw new ArgumentOutOfRangeException(
                nameof(schema),
                $"Label column '{name}' is a key with {key.Count} values; a classifier needs at least 2 classes. A key made by MapValueToKey " +
                "has the distinct labels of the rows it was fitted on: check that the training data has rows (with none it makes a key of 1 value) and more than one label.");
        }

        return column;
    }

    /// <summary>Checks the sequence-length column's type (training, and scoring against the trained type when given).</summary>
    public static DataViewSchema.Column CheckLength(DataViewSchema schema, string name, DataViewType? trainedType = null)
    {
        var column = Find(schema, name, "sequence-length");
        if (!LengthTypes.Contains(column.Type))
        {
            throw new ArgumentOutOfRangeException(
                nameof(schema), $"Sequence-length column '{name}' has type {column.Type}; expected a scalar Single, Int32, UInt32 or Int64.");
        }

        if (trainedType is not null && column.Type != trainedType)
        {
            throw new ArgumentOutOfRangeException(
                nameof(schema), $"Sequence-length column '{name}' has type {column.Type}; the model was trained with {trainedType} (convert it with ConvertType).");
        }

        return column;
    }

    /// <summary>Whether <paramref name="type"/> can hold sequence lengths (Single, Int32, UInt32, Int64).</summary>
    public static bool IsLengthType(DataViewType type) => LengthTypes.Contains(type);

    /// <summary>The column type of a length the graph reads as <paramref name="type"/> (the inverse of <see cref="LengthElementType"/>).</summary>
    public static DataViewType LengthColumnType(OnnxElementType type) => type switch
    {
        OnnxElementType.Int32 => NumberDataViewType.Int32,
        OnnxElementType.UInt32 => NumberDataViewType.UInt32,
        OnnxElementType.Int64 => NumberDataViewType.Int64,
        _ => NumberDataViewType.Single,
    };

    /// <summary>The ONNX input type that carries a length column of <paramref name="type"/> unchanged.</summary>
    public static OnnxElementType LengthElementType(DataViewType type) =>
        type == NumberDataViewType.Single ? OnnxElementType.Float
        : type == NumberDataViewType.Int32 ? OnnxElementType.Int32
        : type == NumberDataViewType.UInt32 ? OnnxElementType.UInt32
        : type == NumberDataViewType.Int64 ? OnnxElementType.Int64
        : throw new ArgumentOutOfRangeException(nameof(type), type, "Not a sequence-length type.");

    /// <summary>Checks options against a training schema.</summary>
    public static ClassifierInputLayout Create(DataViewSchema schema, LmuClassifierOptions options)
    {
        RefuseReservedNames(schema.Where(c => !c.IsHidden).Select(c => c.Name), options.FeatureColumnName, nameof(schema));
        RefuseSkippedNames(options);
        var (steps, variable) = CheckFeatures(schema, options.FeatureColumnName, options.SequenceLength, options.Channels);
        // One channel reads the same in either layout, so only several channels need a fixed size.
        if (variable && options.InputLayout == LmuInputLayout.ChannelMajor && options.Channels > 1)
        {
            throw new ArgumentOutOfRangeException(
                nameof(schema),
                $"Features column '{options.FeatureColumnName}' is a VarVector<Single>, but InputLayout = ChannelMajor needs a fixed-size Vector<Single> of " +
                "sequence length x channels values (a variable-length row's channels cannot be told apart); use StepMajor, or pad every channel to one length.");
        }

        var label = CheckLabel(schema, options.LabelColumnName);
        var length = options.LengthColumnName is null ? (DataViewSchema.Column?)null : CheckLength(schema, options.LengthColumnName);
        return new ClassifierInputLayout(schema[options.FeatureColumnName], label, length, steps, options.Channels, variable, options.InputLayout);
    }

    /// <summary>Whether the label is a key with a KeyValues annotation (class names of its own).</summary>
    public bool HasKeyValues => Label.Type is KeyDataViewType && Label.Annotations.Schema.GetColumnOrNull("KeyValues") is not null;

    /// <summary>The class names a key label carries: its KeyValues as text, or "1".."K" without them.</summary>
    public IReadOnlyList<string>? KeyClassNames()
    {
        if (Label.Type is not KeyDataViewType key)
        {
            return null;
        }

        var count = (int)key.Count;
        var kv = Label.Annotations.Schema.GetColumnOrNull("KeyValues");
        if (kv is null)
        {
            return Enumerable.Range(1, count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        }

        return KeyValueText.ReadClassNames(Label, kv.Value, count);
    }

    private static DataViewSchema.Column Find(DataViewSchema schema, string name, string role)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var column = schema.GetColumnOrNull(name);
        if (column is null || column.Value.IsHidden)
        {
            var available = string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => $"'{c.Name}'"));
            throw new ArgumentOutOfRangeException(nameof(schema), $"The {role} column '{name}' was not found in the data; the columns are {available}.");
        }

        return column.Value;
    }
}
