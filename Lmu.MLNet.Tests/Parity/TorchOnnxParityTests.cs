using Lmu.MLNet.Modules;
using Lmu.MLNet.Onnx;
using Lmu.MLNet.Tests.Onnx;
using TorchSharp;
using static Lmu.MLNet.Tests.Modules.LayerTestHelpers;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Parity;

/// <summary>
/// The same trained weights through TorchSharp and through the exported ONNX graph in ONNX Runtime (float32 both).
/// Tolerance 1e-4 on logits of O(1): two float32 evaluations in different operation orders over T = 30 steps; a
/// layout or transpose mistake gives O(1) differences.
/// </summary>
[TestClass]
public sealed class TorchOnnxParityTests
{
    public static IEnumerable<object[]> Configs()
    {
        // Feed-forward memory (parallel form in torch, MatMul or Scan in ONNX) and recurrent memory (fused scan / cell).
        yield return [HiddenCell.Dense, false, false, "Auto"];
        yield return [HiddenCell.None, false, false, "Auto"];
        yield return [HiddenCell.Dense, false, false, "Scan"];
        yield return [HiddenCell.SimpleRnn, false, false, "Auto"];
        yield return [HiddenCell.SimpleRnn, true, true, "Auto"];
        yield return [HiddenCell.Lstm, true, false, "Auto"];
        yield return [HiddenCell.Gru, false, true, "Auto"];
    }

    [TestMethod]
    [DynamicData(nameof(Configs))]
    public void TorchLogitsEqualOnnxLogits(HiddenCell cell, bool h2m, bool m2m, string formName)
    {
        const int steps = 30, channels = 2;
        var options = new LmuNetworkOptions
        {
            Layer = new LmuLayerOptions
            {
                InputSize = channels, MemoryD = 2, Order = 8, Theta = 20, HiddenCell = cell, HiddenUnits = 6,
                HiddenToMemory = h2m && cell != HiddenCell.None, MemoryToMemory = m2m, InputToHidden = true, UseMemoryBias = true,
            },
            HeadHiddenSizes = [5], OutputSize = 3,
        };
        using var net = new LmuNetwork(options);
        Randomise(net, 17, 0.4);
        net.eval();
        var x = torch.randn([7, steps, channels], generator: new torch.Generator(4));
        Tensor logits;
        using (torch.no_grad()) logits = net.forward(x);

        var bytes = LmuOnnxExporter.Export(net.ToSpec(steps), new LmuOnnxExportOptions { Form = Enum.Parse<LmuOnnxForm>(formName) });
        var rows = x.reshape(7, -1).data<float>().ToArray();
        var onnx = OnnxRunner.Run(bytes, "Features", rows, steps * channels, "Output")["Output"];
        var expected = logits.data<float>().ToArray();
        Assert.AreEqual(expected.Length, onnx.Length);
        double worst = expected.Zip(onnx, (a, b) => Math.Abs(a - b)).Max();
        Assert.IsTrue(worst < 1e-4, $"{cell} h2m={h2m} m2m={m2m} {formName}: max |torch - onnx| = {worst:E2}");
    }

    [TestMethod]
    public void TrainedThetaIsExportedAtItsCurrentValue()
    {
        const int steps = 25;
        var options = new LmuNetworkOptions
        {
            Layer = new LmuLayerOptions { InputSize = 1, Order = 6, Theta = 10, TrainableTheta = true, HiddenCell = HiddenCell.Dense, HiddenUnits = 4 },
            OutputSize = 2,
        };
        using var net = new LmuNetwork(options);
        Randomise(net, 3, 0.5);
        using (torch.no_grad()) net.named_parameters().First(p => p.name.EndsWith("log_theta", StringComparison.Ordinal)).parameter.fill_(Math.Log(13.0));
        net.eval();
        var x = torch.randn([5, steps, 1], generator: new torch.Generator(8));
        Tensor logits;
        using (torch.no_grad()) logits = net.forward(x);
        var bytes = LmuOnnxExporter.Export(net.ToSpec(steps), new LmuOnnxExportOptions());
        var onnx = OnnxRunner.Run(bytes, "Features", x.reshape(5, -1).data<float>().ToArray(), steps, "Output")["Output"];
        double worst = logits.data<float>().ToArray().Zip(onnx, (a, b) => Math.Abs(a - b)).Max();
        Assert.IsTrue(worst < 1e-4, $"max |torch - onnx| = {worst:E2}");
        Assert.AreEqual(13.0, net.Layer.Dynamics.Theta, 1e-4);
    }
}
