using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Featurize;

/// <summary>
/// The fitted <see cref="LmuFeaturizerEstimator"/>: a chain of ML.NET's own transformers (an OnnxTransformer scoring
/// the memory graph), so <c>mlContext.Model.Save</c> writes it into the .zip and <c>Model.Load</c> gives it back as a
/// <c>TransformerChain&lt;ITransformer&gt;</c> that scores identically and needs no libtorch.
/// </summary>
/// <remarks>
/// <see cref="OnnxCarriedTransformer.ExportOnnx"/> / <see cref="OnnxCarriedTransformer.SaveOnnx"/> write the graph the
/// model zip carries (opset 17), one row per run (no batch axis, as ML.NET feeds it). Inputs: the input column
/// (<c>Options.InputColumnName</c>) float [<see cref="SequenceLength"/> x Channels] (step-major, or channel-major with
/// <c>Options.InputLayout</c>) and, with
/// <c>Options.LengthColumnName</c>, that column [1, 1] of its type at Fit (float, int32, uint32 or int64: the row's valid steps). Output: the output column
/// (<c>Options.OutputColumnName</c>, or that name + ".lmu" when it equals the input column, ONNX names being unique)
/// float [<see cref="OutputSize"/>]. Up to 32,768 slots, the column carries ML.NET SlotNames
/// (<c>c{k}.m{i}.t{p}</c> for coefficient i of channel k after p steps, then <c>c{k}.delay{r}</c>), through an extra int64 [1, 1] output
/// <c>mlnet.NAME.unusedOutput</c> (NAME the output above) that only carries them for ML.NET: ignore it.
/// </remarks>
public sealed class LmuFeaturizerTransformer : OnnxCarriedTransformer
{
    // Kept to rebuild the graph on export (a few fields) rather than holding its bytes, whose kernel grows with T.
    private readonly LmuFeaturizerGraph.Spec _spec;

    internal LmuFeaturizerTransformer(TransformerChain<ITransformer> inner, LmuFeaturizerOptions options, LmuFeaturizerGraph.Spec spec)
        : base(inner)
    {
        _spec = spec;
        Options = options;
        SequenceLength = spec.Steps;
        Theta = spec.Theta;
        OutputSize = spec.OutputSize;
    }

    /// <summary>The options it was made with (a private copy; SequenceLength and Theta may be null there, see the resolved values).</summary>
    public LmuFeaturizerOptions Options { get; }

    /// <summary>Steps per row, as resolved at Fit.</summary>
    public int SequenceLength { get; }

    /// <summary>Window of the memory in steps, as resolved at Fit.</summary>
    public double Theta { get; }

    /// <summary>Width of the output vector.</summary>
    public int OutputSize { get; }

    // Rebuilt from the same spec: the graph is deterministic, so these are the carried bytes.
    internal override byte[] StandaloneOnnx() => LmuFeaturizerGraph.Build(_spec);

    private protected override void CheckInputSchema(DataViewSchema schema) =>
        LmuFeaturizerSchema.Check(Options, schema, SequenceLength, fittedLengthType: Options.LengthColumnName is null ? null : Classification.ClassifierInputLayout.LengthColumnType(_spec.LengthType));

    private protected override Scoring.SequenceLengthRule? LengthRule =>
        Options.LengthColumnName is { } length ? new(length, SequenceLength, "LmuFeaturize") : null;
}
