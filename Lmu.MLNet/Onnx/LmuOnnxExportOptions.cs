namespace Lmu.MLNet.Onnx;

/// <summary>Names and layout choices for <see cref="LmuOnnxExporter"/>. ONNX value names become ML.NET column names.</summary>
internal sealed class LmuOnnxExportOptions
{
    /// <summary>Graph input, float [N, T * InputSize].</summary>
    public string InputName { get; init; } = "Features";

    /// <summary>
    /// False (default): the input holds each step's InputSize values side by side (value (t, c) at t*C + c). True: each
    /// channel's T values one after another (value (t, c) at c*T + t); the graph transposes it to [N, T, C] first.
    /// </summary>
    public bool ChannelMajor { get; init; }

    /// <summary>
    /// True (default): input [N, T*InputSize] and outputs [N, ...], for batched scoring. False: one row per run, input
    /// [T*InputSize] and outputs without the batch axis, which ML.NET's OnnxTransformer (one row per run) types as
    /// plain vectors (Vector&lt;Single, K&gt;, not Vector&lt;Single, 1, K&gt;).
    /// </summary>
    public bool BatchAxis { get; init; } = true;

    /// <summary>
    /// Optional second input: each row's valid length n (its first n steps are real, the rest padding), [N, 1] (or
    /// [1, 1] without the batch axis) of <see cref="LengthType"/>. The graph then computes the output at step n-1,
    /// exactly as the row's own n steps would give; a row whose n is not a whole number from 1 to T gets NaN outputs. Null (default): every row has T steps.
    /// </summary>
    public string? LengthName { get; init; }

    /// <summary>Element type of the length input: Float, Int32, UInt32 or Int64. Default Float.</summary>
    public OnnxElementType LengthType { get; init; } = OnnxElementType.Float;

    /// <summary>Raw network outputs (logits or forecasts), float [N, OutputSize]; null to omit.</summary>
    public string? RawOutputName { get; init; } = "Output";

    /// <summary>Classifier outputs (softmax score, predicted index / class); null for none.</summary>
    public LmuOnnxClassifierOutputs? Classifier { get; init; }

    /// <summary>Graph layout of the recurrence.</summary>
    public LmuOnnxForm Form { get; init; } = LmuOnnxForm.Auto;

    /// <summary>Diagnostics: the (last layer's) flattened memory at the last step, float [N, MemoryD * Order]; null to omit.</summary>
    public string? FinalMemoryName { get; init; }

    /// <summary>Diagnostics: the (last) layer's output at the last step, float [N, layer OutputSize]; null to omit.</summary>
    public string? LayerOutputName { get; init; }

    /// <summary>Diagnostics (Scan form of the last layer): its flattened memory at every step, float [N, T, MemoryD * Order].</summary>
    public string? MemorySequenceName { get; init; }

    /// <summary>Diagnostics (Scan form of the last layer, hidden cell required): its h_t at every step, float [N, T, Units].</summary>
    public string? HiddenSequenceName { get; init; }

    /// <summary>A copy with a length input.</summary>
    public LmuOnnxExportOptions WithLength(string name, OnnxElementType type) => Copy(name, type, ChannelMajor);

    /// <summary>A copy that reads the input channel-major (<see cref="ChannelMajor"/>) or not.</summary>
    public LmuOnnxExportOptions WithChannelMajor(bool channelMajor) => Copy(LengthName, LengthType, channelMajor);

    private LmuOnnxExportOptions Copy(string? lengthName, OnnxElementType lengthType, bool channelMajor) => new()
    {
        InputName = InputName, BatchAxis = BatchAxis, RawOutputName = RawOutputName, Classifier = Classifier, Form = Form,
        FinalMemoryName = FinalMemoryName, LayerOutputName = LayerOutputName, MemorySequenceName = MemorySequenceName,
        HiddenSequenceName = HiddenSequenceName, LengthName = lengthName, LengthType = lengthType, ChannelMajor = channelMajor,
    };
}
