namespace Lmu.MLNet.Onnx;

/// <summary>
/// Turns a trained <see cref="LmuNetworkSpec"/> into ONNX model bytes (opset 17 + ai.onnx.ml) that ML.NET's
/// OnnxTransformer or ONNX Runtime can score. Input: float [N, T*InputSize]; outputs as chosen in
/// <see cref="LmuOnnxExportOptions"/>. Touches no TorchSharp type, so scoring never needs libtorch.
/// </summary>
internal static class LmuOnnxExporter
{
    /// <summary>Builds the model.</summary>
    public static byte[] Export(LmuNetworkSpec spec, LmuOnnxExportOptions options)
    {
        LmuNetworkSpecValidator.Validate(spec);
        var l = spec.Layer;
        var steps = spec.SequenceLength;
        var form = ChooseForm(l, options);

        var g = new OnnxGraphBuilder("lmu");
        g.Input(options.InputName, OnnxElementType.Float, "N", (long)steps * l.InputSize);

        var x3 = g.Op("Reshape", [options.InputName, g.Int64s("shape", -1, steps, l.InputSize)]);
        var ux = l.Ex is null ? x3 : g.Op("MatMul", [x3, g.Floats("E_x", l.Ex, l.InputSize, l.MemoryD)]);
        if (l.Bu is not null)
        {
            ux = g.Op("Add", [ux, g.Floats("b_u", l.Bu, l.MemoryD)]);
        }

        // Slice-13 on the flat row: the last step's InputSize values.
        var xLast = g.Op(
            "Slice",
            [options.InputName, g.Int64s("start", (long)(steps - 1) * l.InputSize), g.Int64s("end", (long)steps * l.InputSize), g.Int64s("axes", 1)]);

        var layer = form == LmuOnnxForm.FeedForward
            ? LmuOnnxFeedForwardLayer.Build(g, l, steps, ux, xLast)
            : LmuOnnxScanLayer.Build(g, l, x3, ux, xLast, options.MemorySequenceName is not null || options.HiddenSequenceName is not null);

        var y = layer.Output;
        for (var i = 0; i < spec.Head.Count; i++)
        {
            y = LmuOnnxOps.Dense(g, g, y, spec.Head[i], $"head{i}");
        }

        var width = spec.OutputSize;
        Emit(g, options.RawOutputName, y, width);
        Emit(g, options.FinalMemoryName, layer.FinalMemory, l.MemoryD * l.Order);
        Emit(g, options.LayerOutputName, layer.Output, l.OutputSize);
        EmitSequence(g, options.MemorySequenceName, layer.MemorySequence, "memory", steps, l.MemoryD * l.Order);
        EmitSequence(g, options.HiddenSequenceName, layer.HiddenSequence, "hidden", steps, l.Units);
        if (options.Classifier is not null)
        {
            LmuOnnxClassifierHead.Build(g, y, width, options.Classifier);
        }

        return OnnxModelWriter.Write(g.Graph);
    }

    private static LmuOnnxForm ChooseForm(LmuLayerSpec l, LmuOnnxExportOptions options)
    {
        var canFeedForward = LmuOnnxFeedForwardLayer.Supports(l);
        var sequences = options.MemorySequenceName is not null || options.HiddenSequenceName is not null;
        return options.Form switch
        {
            LmuOnnxForm.FeedForward when !canFeedForward => throw new ArgumentException(
                "The feed-forward form needs a memory without hidden-to-memory or memory-to-memory encoders and a None or Dense hidden cell."),
            LmuOnnxForm.FeedForward when sequences => throw new ArgumentException("Per-step sequences exist only in the Scan form."),
            LmuOnnxForm.Auto => canFeedForward && !sequences ? LmuOnnxForm.FeedForward : LmuOnnxForm.Scan,
            _ => options.Form,
        };
    }

    /// <summary>Publishes <paramref name="value"/> as graph output <paramref name="name"/> (float [N, width]).</summary>
    internal static void Emit(OnnxGraphBuilder g, string? name, string value, int width)
    {
        if (name is null)
        {
            return;
        }

        // Identity gives the output its exact name, whatever produced the value.
        g.Add("Identity", [value], [name], []);
        g.Output(name, OnnxElementType.Float, "N", width);
    }

    private static void EmitSequence(OnnxGraphBuilder g, string? name, string? value, string what, int steps, int width)
    {
        if (name is null)
        {
            return;
        }

        if (value is null)
        {
            throw new ArgumentException($"The {what} sequence is not available for this layer.");
        }

        g.Add("Identity", [value], [name], []);
        g.Output(name, OnnxElementType.Float, "N", steps, width);
    }
}
