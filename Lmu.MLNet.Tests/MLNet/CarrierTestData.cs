using Lmu.MLNet.Network;
using Lmu.MLNet.Onnx;
using Lmu.MLNet.Tests.Onnx;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet;

/// <summary>One input row: a flattened sequence and a string label.</summary>
public sealed class SequenceRow
{
    public string Label { get; set; } = string.Empty;

    [VectorType(CarrierTestData.Width)]
    public float[] Features { get; set; } = [];
}

/// <summary>Prediction with the native key and score.</summary>
public sealed class KeyPrediction
{
    public uint PredictedLabel { get; set; }

    public float[] Score { get; set; } = [];
}

/// <summary>Prediction after MapKeyToValue.</summary>
public sealed class TextPrediction
{
    public string PredictedLabel { get; set; } = string.Empty;
}

/// <summary>A hand-made 3-class LMU (no hidden cell, one head layer) and rows labelled by its own predictions.</summary>
internal static class CarrierTestData
{
    public const int Steps = 4;
    public const int Channels = 2;
    public const int Width = Steps * Channels;

    /// <summary>Deliberately not alphabetical, so key order cannot come from sorting.</summary>
    public static readonly string[] Classes = ["zebra", "ant", "moose"];

    /// <summary>Rows whose label disagrees with the model (accuracy is then known exactly).</summary>
    public const int Flipped = 3;

    public static LmuNetworkSpec Spec()
    {
        var (ad, bd) = SpecSystem.Create(2, 3.0, zoh: true);
        return new LmuNetworkSpec
        {
            SequenceLength = Steps,
            Layers = [new LmuLayerSpec { InputSize = Channels, MemoryD = Channels, Order = 2, Ad = ad, Bd = bd }],
            Head =
            [
                new DenseSpec
                {
                    In = 4,
                    Out = 3,
                    W = [1.5f, -1f, 0.2f, 0.3f, 0.8f, -0.6f, -1.2f, 0.4f, 1.1f, 0.5f, -0.7f, 0.9f],
                    B = [0.1f, -0.05f, 0f],
                },
            ],
        };
    }

    public static List<SequenceRow> Rows(int count = 40)
    {
        var spec = Spec();
        var rng = new Random(17);
        var rows = new List<SequenceRow>();
        for (var i = 0; i < count; i++)
        {
            var x = Enumerable.Range(0, Width).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            var logits = LmuReferenceModel.Forward(spec, x).Output;
            var k = Array.IndexOf(logits, logits.Max());
            if (i < Flipped)
            {
                k = (k + 1) % Classes.Length;
            }

            rows.Add(new SequenceRow { Label = Classes[k], Features = x });
        }

        return rows;
    }

    public static byte[] Model() =>
        LmuOnnxExporter.Export(Spec(), Lmu.MLNet.OnnxCarrier.MulticlassExportOptions("Features", Classes));
}
