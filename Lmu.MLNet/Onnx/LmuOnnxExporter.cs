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
        var rowWidth = (long)steps * l.InputSize;
        string features;
        if (options.BatchAxis)
        {
            g.Input(options.InputName, OnnxElementType.Float, "N", rowWidth);
            features = options.InputName;
        }
        else
        {
            // One row: give it a batch axis of 1 so that the rest of the graph is the same in both layouts.
            g.Input(options.InputName, OnnxElementType.Float, rowWidth);
            features = g.Op("Unsqueeze", [options.InputName, g.Int64s("axes", 0)]);
        }

        var publish = new LmuOnnxOutputPublisher(g, options.BatchAxis);
        var x3 = g.Op("Reshape", [features, g.Int64s("shape", -1, steps, l.InputSize)]);
        string? valid = null;
        string? mask = null;
        if (options.LengthName is not null)
        {
            if (options.LengthType is not (OnnxElementType.Float or OnnxElementType.Int32 or OnnxElementType.UInt32 or OnnxElementType.Int64))
            {
                throw new ArgumentException($"Length input type {options.LengthType} is not supported; use Float, Int32, UInt32 or Int64.", nameof(options));
            }

            // ML.NET's OnnxTransformer feeds a scalar column as [1, 1]: already the one-row batch shape.
            g.Input(options.LengthName, options.LengthType, options.BatchAxis ? "N" : 1L, 1L);
            var aligned = LmuOnnxRightAlign.Build(g, x3, options.LengthName, steps);
            (x3, valid, mask) = (aligned.X, aligned.Valid, aligned.Mask);
        }

        var ux = l.Ex is null ? x3 : g.Op("MatMul", [x3, g.Floats("E_x", l.Ex, l.InputSize, l.MemoryD)]);
        if (l.Bu is not null)
        {
            ux = g.Op("Add", [ux, g.Floats("b_u", l.Bu, l.MemoryD)]);
        }

        if (mask is not null)
        {
            // Padded (leading) steps must not drive the memory: with b_u they would, even on a zero input.
            ux = g.Op("Mul", [ux, mask]);
        }

        // The last step's InputSize values (after alignment, the row's own last step).
        var xLast = mask is null
            ? g.Op("Slice", [features, g.Int64s("start", (long)(steps - 1) * l.InputSize), g.Int64s("end", (long)steps * l.InputSize), g.Int64s("axes", 1)])
            : g.Op("Reshape", [
                g.Op("Slice", [x3, g.Int64s("start", steps - 1), g.Int64s("end", steps), g.Int64s("axes", 1)]), g.Int64s("shape", -1, l.InputSize)]);

        var layer = form == LmuOnnxForm.FeedForward
            ? LmuOnnxFeedForwardLayer.Build(g, l, steps, ux, xLast)
            : LmuOnnxScanLayer.Build(g, l, x3, ux, xLast, options.MemorySequenceName is not null || options.HiddenSequenceName is not null, valid);

        var y = layer.Output;
        for (var i = 0; i < spec.Head.Count; i++)
        {
            y = LmuOnnxOps.Dense(g, g, y, spec.Head[i], $"head{i}");
        }

        var width = spec.OutputSize;
        publish.Float(options.RawOutputName, y, width);
        publish.Float(options.FinalMemoryName, layer.FinalMemory, l.MemoryD * l.Order);
        publish.Float(options.LayerOutputName, layer.Output, l.OutputSize);
        publish.Sequence(options.MemorySequenceName, layer.MemorySequence, "memory", steps, l.MemoryD * l.Order);
        publish.Sequence(options.HiddenSequenceName, layer.HiddenSequence, "hidden", steps, l.Units);
        if (options.Classifier is not null)
        {
            LmuOnnxClassifierHead.Build(g, publish, y, width, options.Classifier);
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
}
