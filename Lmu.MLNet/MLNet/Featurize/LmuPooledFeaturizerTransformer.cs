using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Featurize;

/// <summary>
/// The fitted <see cref="LmuPooledFeaturizerEstimator"/>: a chain of ML.NET's own transformers (an OnnxTransformer
/// scoring the pooled-memory graph), so <c>mlContext.Model.Save</c> writes it into the .zip and <c>Model.Load</c> gives
/// it back as a <c>TransformerChain&lt;ITransformer&gt;</c> that scores identically and needs no libtorch.
/// </summary>
/// <remarks>
/// <see cref="OnnxCarriedTransformer.ExportOnnx"/> / <see cref="OnnxCarriedTransformer.SaveOnnx"/> write the graph the
/// model zip carries (opset 17), one row per run (no batch axis, as ML.NET feeds it). Inputs: the input column
/// (<c>Options.InputColumnName</c>) float [<see cref="SequenceLength"/> x Channels] (step-major, or channel-major with
/// <c>Options.InputLayout</c>) and, with
/// <c>Options.LengthColumnName</c>, that column [1, 1] of its type at Fit (float, int32, uint32 or int64: the row's valid steps). Output: the output column
/// (<c>Options.OutputColumnName</c>, or that name + ".lmu" when it equals the input column, ONNX names being unique)
/// float [<see cref="OutputSize"/>]. Up to 32,768 slots, the column carries ML.NET SlotNames
/// (<c>ppv.w{g}.p{k}</c> then <c>max.w{g}.p{k}</c>, g indexing <see cref="Thetas"/>), through an extra int64 [1, 1] output
/// <c>mlnet.NAME.unusedOutput</c> (NAME the output above) that only carries them for ML.NET: ignore it.
/// </remarks>
public sealed class LmuPooledFeaturizerTransformer : OnnxCarriedTransformer
{
    private readonly LmuFeaturizerOptions _schemaOptions;

    // The length input's element type in the graph (the length column's type at Fit).
    private readonly Onnx.OnnxElementType _lengthType;

    internal LmuPooledFeaturizerTransformer(
        TransformerChain<ITransformer> inner, LmuPooledFeaturizerOptions options, LmuPooledKernelSet kernels, LmuFeaturizerOptions schemaOptions, int seed,
        Onnx.OnnxElementType lengthType)
        : base(inner)
    {
        _lengthType = lengthType;
        Options = options;
        Kernels = kernels;
        _schemaOptions = schemaOptions;
        Seed = seed;
    }

    /// <summary>The options it was made with (a private copy; unresolved defaults stay null there).</summary>
    public LmuPooledFeaturizerOptions Options { get; }

    /// <summary>The seed the kernels were sampled with (the option, or the value drawn from the MLContext).</summary>
    public int Seed { get; }

    /// <summary>Steps per row, as resolved at Fit.</summary>
    public int SequenceLength => Kernels.Steps;

    /// <summary>The sampled window length of each memory, in steps.</summary>
    public IReadOnlyList<double> Thetas => Kernels.Thetas;

    /// <summary>Width of the output vector: <c>2 x Windows x ProjectionsPerWindow</c>.</summary>
    public int OutputSize => Kernels.OutputSize;

    /// <summary>The sampled parameters, for the float64 reference evaluation in tests.</summary>
    internal LmuPooledKernelSet Kernels { get; }

    // Rebuilt from the sampled kernels with the names Fit used: the graph is deterministic, so these are the carried bytes.
    internal override byte[] StandaloneOnnx()
    {
        var o = Options;
        var output = o.OutputColumnName == o.InputColumnName ? o.OutputColumnName + ".lmu" : o.OutputColumnName;
        return LmuPooledFeaturizerGraph.Build(LmuPooledFeaturizerGraph.Spec.For(o, output, Kernels, _lengthType));
    }

    private protected override void CheckInputSchema(DataViewSchema schema) =>
        LmuFeaturizerSchema.Check(_schemaOptions, schema, SequenceLength, "LmuPooledFeaturize", Options.LengthColumnName is null ? null : Classification.ClassifierInputLayout.LengthColumnType(_lengthType));

    private protected override Scoring.SequenceLengthRule? LengthRule =>
        Options.LengthColumnName is { } length ? new(length, SequenceLength, "LmuPooledFeaturize") : null;
}
