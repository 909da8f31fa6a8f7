using Lmu.MLNet.Network;
using Lmu.MLNet.Onnx;
using Lmu.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Classification;

/// <summary>
/// A trained LMU sequence classifier. It scores through ML.NET's own OnnxTransformer (the chain that
/// <c>mlContext.Model.Load</c> returns for a saved copy), so what Fit returns and what a service loads compute the same
/// numbers by the same engine. Adds <c>Score</c> (Vector&lt;Single, K&gt; of class probabilities, SlotNames = class
/// names) and <c>PredictedLabel</c> (a key whose KeyValues are the class names, as text).
/// </summary>
/// <remarks>
/// Saving writes only ML.NET's own transformers (plus a stateless mapping from this assembly), so loading and scoring
/// need Microsoft.ML, the ONNX Runtime and this assembly, but never libtorch; nothing here touches a TorchSharp type.
/// <para>
/// <see cref="OnnxCarriedTransformer.ExportOnnx"/> / <see cref="OnnxCarriedTransformer.SaveOnnx"/> write the trained
/// network as a standalone ONNX model (opset 17 + ai.onnx.ml), batched. Input: <c>FeatureColumnName</c> float
/// [N, SequenceLength * Channels] (a batch of flattened sequences in the trained <c>InputLayout</c>: step-major by
/// default, channel-major with <see cref="LmuInputLayout.ChannelMajor"/>; without a length column shorter step-major
/// sequences are left-padded with zeros)
/// and, when trained with a length column, that column too: [N, 1] of its type, each row's valid steps (first n steps
/// real, then padding; a length that is not a whole number from 1 to SequenceLength gives NaN scores, index -1 and an
/// empty label). Outputs: <c>Logits</c> float [N, K]; <c>Score</c> softmax
/// float [N, K]; <c>PredictedIndex</c> int64 [N, 1] (0-based; -1 where the scores are NaN); <c>PredictedLabel</c>
/// string [N, 1] (the class name; empty where the scores are NaN). An extra int64 [1, 1] output
/// <c>mlnet.Score.unusedOutput</c> only carries the class names for ML.NET (ignore it).
/// </para>
/// </remarks>
public sealed class LmuClassifierTransformer : OnnxCarriedTransformer, ISingleFeaturePredictionTransformer<LmuClassifierModelInfo>
{
    private readonly LmuNetworkSpec _spec;

    internal LmuClassifierTransformer(TransformerChain<ITransformer> chain, LmuNetworkSpec spec, LmuClassifierModelInfo info)
        : base(chain)
    {
        _spec = spec;
        Info = info;
    }

    /// <summary>What was trained and how: classes, shape, parameter count, seed, device and the per-epoch history.</summary>
    public LmuClassifierModelInfo Info { get; }

    /// <summary>The features column the classifier reads.</summary>
    /// <remarks>
    /// With <see cref="FeatureColumnType"/> and the model this makes the fitted classifier an ML.NET prediction
    /// transformer, so <c>mlContext.MulticlassClassification.PermutationFeatureImportance(model, keyedData)</c> works:
    /// one importance per slot of the features vector, i.e. per time step and channel, in the column's layout
    /// (<see cref="LmuClassifierModelInfo.InputLayout"/>). Only the object
    /// returned by Fit can do this: a model loaded from a zip is ML.NET's own TransformerChain.
    /// </remarks>
    public string FeatureColumnName => Info.FeatureColumnName;

    /// <summary>The features column's type: Vector&lt;Single, SequenceLength x Channels&gt;.</summary>
    public DataViewType FeatureColumnType => new VectorDataViewType(NumberDataViewType.Single, Info.SequenceLength * Info.Channels);

    /// <summary>The trained model's description (<see cref="Info"/>), as ML.NET's prediction transformers expose theirs.</summary>
    LmuClassifierModelInfo IPredictionTransformer<LmuClassifierModelInfo>.Model => Info;

    internal override byte[] StandaloneOnnx() => LmuOnnxExporter.Export(_spec, StandaloneOptions());

    private LmuOnnxExportOptions StandaloneOptions()
    {
        var options = new LmuOnnxExportOptions
        {
            InputName = Info.FeatureColumnName,
            BatchAxis = true,
            RawOutputName = "Logits",
            Classifier = new LmuOnnxClassifierOutputs
            {
                ClassNames = Info.ClassNames, ScoreName = "Score", PredictedIndexName = "PredictedIndex", PredictedClassName = "PredictedLabel",
            },
        };
        options = options.WithChannelMajor(Info.InputLayout == LmuInputLayout.ChannelMajor);
        return Info.LengthType is null ? options : options.WithLength(Info.LengthColumnName!, ClassifierInputLayout.LengthElementType(Info.LengthType));
    }

    internal LmuNetworkSpec Spec => _spec;

    /// <summary>A VarVector features column is read padded to the fixed size the graph takes, as training padded it (<see cref="PaddedFeaturesView"/>).</summary>
    private protected override IDataView PrepareInput(IDataView input) =>
        IsVariable(input.Schema) ? new PaddedFeaturesView(input, Info.FeatureColumnName, Info.SequenceLength, Info.Channels, Info.LengthColumnName) : input;

    private protected override DataViewSchema PrepareSchema(DataViewSchema schema) =>
        IsVariable(schema) ? PaddedFeaturesView.PadSchema(schema, Info.FeatureColumnName, Info.SequenceLength * Info.Channels) : schema;

    private protected override Scoring.SequenceLengthRule? LengthRule =>
        Info.LengthColumnName is { } length ? new(length, Info.SequenceLength, "LmuClassifier") : null;

    private bool IsVariable(DataViewSchema schema) =>
        schema.GetColumnOrNull(Info.FeatureColumnName)?.Type is VectorDataViewType { IsKnownSize: false, ItemType: NumberDataViewType n } && n == NumberDataViewType.Single
        && (Info.InputLayout == LmuInputLayout.StepMajor || Info.Channels == 1);

    private protected override void CheckInputSchema(DataViewSchema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        // Training refuses these names; at scoring such a column was dropped from the output without a word (found by QA).
        ClassifierInputLayout.RefuseReservedNames(schema.Where(c => !c.IsHidden).Select(c => c.Name), Info.FeatureColumnName, nameof(schema));
        var (_, variable) = ClassifierInputLayout.CheckFeatures(schema, Info.FeatureColumnName, Info.SequenceLength, Info.Channels);
        if (variable)
        {
            // ML.NET's OnnxTransformer takes known-size vectors only; Transform pads a VarVector column (PrepareInput), a
            // PredictionEngine's row type cannot be padded.
            throw new ArgumentOutOfRangeException(
                nameof(schema),
                $"Features column '{Info.FeatureColumnName}' is a VarVector<Single>; scoring needs Vector<Single, {Info.SequenceLength * Info.Channels}> " +
                $"(sequence length {Info.SequenceLength} x {Info.Channels} channels, shorter rows " +
                (Info.LengthColumnName is null ? "left-padded with zeros)." : $"padded at the end, with their length in '{Info.LengthColumnName}')") +
                (Info.InputLayout == LmuInputLayout.ChannelMajor ? $"; each channel's {Info.SequenceLength} values one after another (InputLayout = ChannelMajor)." : string.Empty));
        }

        if (Info.LengthColumnName is not null)
        {
            ClassifierInputLayout.CheckLength(schema, Info.LengthColumnName, Info.LengthType);
        }

        // A label present at scoring must be the training label's key type, or metrics would compare different classes.
        var label = schema.GetColumnOrNull(Info.LabelColumnName);
        if (label is { IsHidden: false, Type: KeyDataViewType key } && key.Count != (ulong)Info.ClassNames.Count)
        {
            throw new ArgumentOutOfRangeException(
                nameof(schema),
                $"Label column '{Info.LabelColumnName}' is Key<{key.Count}> but the model was trained on {Info.ClassNames.Count} classes " +
                $"[{string.Join(", ", Info.ClassNames)}]; a label absent from the training data cannot be scored. Map labels with the MapValueToKey fitted on the training data.");
        }
    }
}
