using Lmu.MLNet.Modules;
using Lmu.MLNet.Onnx;
using Lmu.MLNet.Tests.Onnx;
using TorchSharp;
using static Lmu.MLNet.Tests.Modules.LayerTestHelpers;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Parity;

/// <summary>
/// Variable-length rows (valid steps first, then padding): TorchSharp's forward(x, lengths) (the output gathered at
/// step n-1) against the exported graph fed the same lengths, which right-aligns each row and keeps padded steps inert.
/// The padding is random noise, not zeros, so a graph that read it would be far off. Tolerance 1e-4 on logits of O(1),
/// as for full-length rows (float32 both, different operation orders); reading a wrong step gives O(0.1-1) errors.
/// </summary>
[TestClass]
public sealed class TorchOnnxLengthParityTests
{
    public static IEnumerable<object[]> Configs()
    {
        // Feed-forward memory with a Dense hidden cell (MatMul form; b_u makes padded steps count unless masked), the
        // same in the Scan form, and recurrent SimpleRnn / LSTM with hidden-to-memory (Scan, state carried on padding).
        yield return [HiddenCell.Dense, false, "Auto", "Float"];
        yield return [HiddenCell.Dense, false, "Scan", "Int64"];
        yield return [HiddenCell.None, false, "Auto", "Int32"];
        yield return [HiddenCell.SimpleRnn, true, "Auto", "Float"];
        yield return [HiddenCell.Lstm, true, "Auto", "Int64"];
    }

    [TestMethod]
    [DynamicData(nameof(Configs))]
    public void OnnxWithLengthsEqualsTorchForwardLast(HiddenCell cell, bool h2m, string formName, string lengthType)
    {
        const int steps = 20, channels = 2, rows = 9;
        var options = new LmuNetworkOptions
        {
            Layer = new LmuLayerOptions
            {
                InputSize = channels, MemoryD = 2, Order = 8, Theta = 15, HiddenCell = cell, HiddenUnits = 6,
                HiddenToMemory = h2m, InputToHidden = true, UseMemoryBias = true,
            },
            HeadHiddenSizes = [5], OutputSize = 3,
        };
        using var net = new LmuNetwork(options);
        Randomise(net, 23, 0.4);
        net.eval();
        var x = torch.randn([rows, steps, channels], generator: new torch.Generator(5));
        var rng = new Random(11);
        // 1 and T always included; the rest random.
        var lengths = Enumerable.Range(0, rows).Select(i => i == 0 ? 1 : i == 1 ? steps : rng.Next(1, steps + 1)).ToArray();
        Tensor logits;
        using (torch.no_grad()) logits = net.forward(x, torch.tensor(lengths.Select(n => (long)n).ToArray()));

        var type = Enum.Parse<OnnxElementType>(lengthType);
        var bytes = LmuOnnxExporter.Export(
            net.ToSpec(steps), new LmuOnnxExportOptions { Form = Enum.Parse<LmuOnnxForm>(formName), LengthName = "Length", LengthType = type });
        var flat = x.reshape(rows, -1).data<float>().ToArray();
        var width = steps * channels;
        var onnx = type switch
        {
            OnnxElementType.Float => OnnxRunner.RunWithLengths(bytes, "Features", flat, width, "Length", lengths.Select(n => (float)n).ToArray(), "Output"),
            OnnxElementType.Int32 => OnnxRunner.RunWithLengths(bytes, "Features", flat, width, "Length", lengths, "Output"),
            _ => OnnxRunner.RunWithLengths(bytes, "Features", flat, width, "Length", lengths.Select(n => (long)n).ToArray(), "Output"),
        };
        var expected = logits.data<float>().ToArray();
        Assert.HasCount(expected.Length, onnx);
        double worst = expected.Zip(onnx, (a, b) => Math.Abs(a - b)).Max();
        Bound.Below(1e-4, worst, $"{cell} h2m={h2m} {formName} {lengthType}: max |torch - onnx| = {worst:E2}");

        // The lengths matter: the full-length logits differ (else the comparison above would prove nothing).
        Tensor full;
        using (torch.no_grad()) full = net.forward(x);
        var fullLogits = full.data<float>().ToArray();
        double moved = fullLogits.Zip(onnx, (a, b) => Math.Abs(a - b)).Take(3).Max();
        Assert.IsGreaterThan(1e-2, moved, "row 0 (length 1) must score differently from its full-length row");
    }

    [TestMethod]
    public void EachRowScoresAsItsTruncatedSequence()
    {
        // Independent of TorchSharp's lengths handling: a row with length n scores as the same n steps exported for T = n.
        const int steps = 12, channels = 1;
        var options = new LmuNetworkOptions
        {
            Layer = new LmuLayerOptions { InputSize = channels, Order = 6, Theta = 10, HiddenCell = HiddenCell.SimpleRnn, HiddenUnits = 5, HiddenToMemory = true, UseMemoryBias = true },
            OutputSize = 2,
        };
        using var net = new LmuNetwork(options);
        Randomise(net, 31, 0.5);
        net.eval();
        var x = torch.randn([1, steps, channels], generator: new torch.Generator(6)).data<float>().ToArray();
        var padded = LmuOnnxExporter.Export(net.ToSpec(steps), new LmuOnnxExportOptions { LengthName = "Length" });
        foreach (var n in new[] { 1, 5, steps })
        {
            var withLength = OnnxRunner.RunWithLengths(padded, "Features", x, steps, "Length", [(float)n], "Output");
            var truncated = OnnxRunner.Run(LmuOnnxExporter.Export(net.ToSpec(n), new LmuOnnxExportOptions()), "Features", x[..n], n, "Output")["Output"];
            double worst = withLength.Zip(truncated, (a, b) => Math.Abs(a - b)).Max();
            Bound.Below(1e-5, worst, $"length {n}: max |padded - truncated| = {worst:E2}");
        }
    }
}
