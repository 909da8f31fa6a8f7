using Lmu.MLNet.Network;

namespace Lmu.MLNet.Onnx;

/// <summary>
/// Turns a trained <see cref="LmuNetworkSpec"/> into ONNX model bytes (opset 17 + ai.onnx.ml) that ML.NET's
/// OnnxTransformer or ONNX Runtime can score. Input: float [N, T*InputSize]; outputs as chosen in
/// <see cref="LmuOnnxExportOptions"/> (the diagnostic outputs are the last layer's). The network itself is
/// <see cref="LmuOnnxNetwork"/>, shared with the forecaster's graph. Touches no TorchSharp type, so scoring never
/// needs libtorch.
/// </summary>
internal static class LmuOnnxExporter
{
    /// <summary>Builds the model.</summary>
    public static byte[] Export(LmuNetworkSpec spec, LmuOnnxExportOptions options)
    {
        LmuNetworkSpecValidator.Validate(spec);
        var steps = spec.SequenceLength;
        var inputSize = spec.InputSize;
        var sequences = options.MemorySequenceName is not null || options.HiddenSequenceName is not null;
        if (spec.Readout != LmuReadout.LastStep && (options.FinalMemoryName ?? options.LayerOutputName ?? options.MemorySequenceName ?? options.HiddenSequenceName) is not null)
        {
            throw new ArgumentException(
                "FinalMemoryName, LayerOutputName, MemorySequenceName and HiddenSequenceName publish the last layer's last-step values and per-step " +
                $"states, which a network with the {spec.Readout} readout does not build (its last layer is pooled). Leave them null.",
                nameof(options));
        }

        var g = new OnnxGraphBuilder("lmu");
        var rowWidth = (long)steps * inputSize;
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
        // Channel-major rows are [C, T] blocks: transposed once here, the rest of the graph reads [N, T, C].
        var x3 = options.ChannelMajor && inputSize > 1
            ? g.Op("Transpose", [g.Op("Reshape", [features, g.Int64s("shape", -1, inputSize, steps)])], OnnxAttribute.Ints("perm", 0, 2, 1))
            : g.Op("Reshape", [features, g.Int64s("shape", -1, steps, inputSize)]);
        string? valid = null;
        string? mask = null;
        string? badLength = null;
        if (options.LengthName is not null)
        {
            if (options.LengthType is not (OnnxElementType.Float or OnnxElementType.Int32 or OnnxElementType.UInt32 or OnnxElementType.Int64))
            {
                throw new ArgumentException($"Length input type {options.LengthType} is not supported; use Float, Int32, UInt32 or Int64.", nameof(options));
            }

            // ML.NET's OnnxTransformer feeds a scalar column as [1, 1]: already the one-row batch shape.
            g.Input(options.LengthName, options.LengthType, options.BatchAxis ? "N" : 1L, 1L);
            var aligned = LmuOnnxRightAlign.Build(g, x3, options.LengthName, steps);
            (x3, valid, mask, badLength) = (aligned.X, aligned.Valid, aligned.Mask, aligned.BadLength);
        }

        var network = LmuOnnxNetwork.Build(g, spec, x3, mask, valid, options.Form, sequences,
            lastMemory: options.FinalMemoryName is not null);
        // A row whose length no model reads scores NaN (and no class), not the truncated or clamped row's answer.
        var y = badLength is null ? network.Output : LmuOnnxRightAlign.NaNWhere(g, badLength, network.Output);
        var layer = network.LastLayer;
        var l = spec.LastLayer;
        var width = spec.OutputSize;
        publish.Float(options.RawOutputName, y, width);
        if (layer is not null)
        {
            if (layer.FinalMemory is not null)
            {
                publish.Float(options.FinalMemoryName, layer.FinalMemory, l.MemoryD * l.Order);
            }

            publish.Float(options.LayerOutputName, layer.Output, l.OutputSize);
            publish.Sequence(options.MemorySequenceName, layer.MemorySequence, "memory", steps, l.MemoryD * l.Order);
            publish.Sequence(options.HiddenSequenceName, layer.HiddenSequence, "hidden", steps, l.Units);
        }

        if (options.Classifier is not null)
        {
            LmuOnnxClassifierHead.Build(g, publish, y, width, options.Classifier);
        }

        return OnnxModelWriter.Write(g.Graph);
    }
}
