using Lmu.MLNet.Forecasting;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Network;
using Lmu.MLNet.Onnx;
using Lmu.MLNet.Tests.Modules;
using Lmu.MLNet.Tests.Onnx;
using TorchSharp;
using static Lmu.MLNet.Tests.Modules.LayerTestHelpers;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Parity;

/// <summary>
/// Stacks of 2 and 3 layers with mixed forms (<see cref="StackConfigs"/>): the same weights through TorchSharp (each
/// layer in its own form), the exported ONNX graph (each layer in its form, or all in Scan), and the float64
/// step-by-step forward of the spec. Tolerance 1e-4 on outputs of O(1), float32 over T = 20 steps and 3 layers; a
/// wrong layer order, a missed mask or a transposed convolution kernel gives O(0.1-1) differences.
/// </summary>
[TestClass]
public sealed class TorchOnnxStackParityTests
{
    private const int Steps = 20;
    private const int Channels = 2;
    private const int Rows = 6;

    [TestMethod]
    [DataRow(2, "Auto")]
    [DataRow(2, "Scan")]
    [DataRow(3, "Auto")]
    [DataRow(3, "Scan")]
    public void TorchOnnxAndTheFloat64ForwardAgree(int layers, string formName)
    {
        using var net = Network(layers);
        CollectionAssert.AreEqual(StackConfigs.TorchModes(layers), net.Layers.Select(l => l.ResolveMode(withState: false)).ToArray(), "torch forms");
        var x = torch.randn([Rows, Steps, Channels], generator: new torch.Generator(4));
        Tensor outputs;
        using (torch.no_grad()) outputs = net.forward(x);

        var spec = net.ToSpec(Steps);
        var form = Enum.Parse<LmuOnnxForm>(formName);
        // Auto keeps the feed-forward layers loop-free (a Conv inside the stack, the MatMul product last) and puts the
        // recurrent layers (the 2-layer stack's SimpleRnn, the 3-layer stack's LSTM) in blocks.
        var expectedForms = spec.Layers.Select(l => form == LmuOnnxForm.Scan ? LmuOnnxForm.Scan
            : LmuOnnxFeedForwardLayer.Supports(l) ? LmuOnnxForm.FeedForward
            : LmuOnnxForm.Blocked);
        CollectionAssert.AreEqual(
            expectedForms.ToArray(), spec.Layers.Select((l, i) => LmuOnnxNetwork.ChooseForm(l, form, false, i)).ToArray(), "ONNX forms");
        var rows = x.reshape(Rows, -1).data<float>().ToArray();
        var onnx = OnnxRunner.Run(LmuOnnxExporter.Export(spec, new LmuOnnxExportOptions { Form = form }), "Features", rows, Steps * Channels, "Output")["Output"];
        var torchValues = outputs.data<float>().ToArray();
        Assert.AreEqual(torchValues.Length, onnx.Length);
        var worst = torchValues.Zip(onnx, (a, b) => Math.Abs(a - b)).Max();
        Bound.Below(1e-4, worst, $"{layers} layers {formName}: max |torch - onnx| = {worst:E2}");

        for (var r = 0; r < Rows; r++)
        {
            var reference = LmuWindowForward.Run(spec, rows.AsSpan(r * Steps * Channels, Steps * Channels).ToArray().Select(v => (double)v).ToArray());
            for (var k = 0; k < reference.Length; k++)
            {
                Assert.AreEqual(reference[k], onnx[r * 3 + k], 1e-4, $"row {r} output {k}: float64 forward vs ONNX");
            }
        }
    }

    [TestMethod]
    [DataRow(2, "Auto")]
    [DataRow(3, "Auto")]
    [DataRow(3, "Scan")]
    public void VariableLengthRowsAgreeWithTorchLengths(int layers, string formName)
    {
        using var net = Network(layers);
        var x = torch.randn([Rows, Steps, Channels], generator: new torch.Generator(9));
        long[] lengths = [Steps, 1, 7, 13, 19, 4];
        // Padding after each row's length is noise: neither torch nor the graph may read it.
        Tensor outputs;
        using (torch.no_grad()) outputs = net.forward(x, torch.tensor(lengths));
        var spec = net.ToSpec(Steps);
        var bytes = LmuOnnxExporter.Export(spec, new LmuOnnxExportOptions { Form = Enum.Parse<LmuOnnxForm>(formName), LengthName = "Length" });
        var rows = x.reshape(Rows, -1).data<float>().ToArray();
        var onnx = OnnxRunner.RunWithLengths(bytes, "Features", rows, Steps * Channels, "Length", lengths.Select(n => (float)n).ToArray(), "Output");
        var worst = outputs.data<float>().ToArray().Zip(onnx, (a, b) => Math.Abs(a - b)).Max();
        Bound.Below(1e-4, worst, $"{layers} layers {formName} with lengths: max |torch - onnx| = {worst:E2}");
    }

    [TestMethod]
    public void AStackExportsOnlyWhenItsLayersChain()
    {
        using var net = Network(2);
        var spec = net.ToSpec(Steps);
        var l1 = spec.Layers[1];
        var broken = new LmuNetworkSpec
        {
            SequenceLength = Steps, Head = spec.Head,
            Layers = [spec.Layers[0], new LmuLayerSpec
            {
                InputSize = l1.InputSize + 1, MemoryD = l1.MemoryD, Order = l1.Order, Ad = l1.Ad, Bd = l1.Bd, Ex = l1.Ex, Bu = l1.Bu, Eh = l1.Eh,
                Em = l1.Em, Hidden = l1.Hidden, Units = l1.Units, HiddenInput = l1.HiddenInput, HiddenRecurrent = l1.HiddenRecurrent,
            }],
        };
        var e = Assert.ThrowsExactly<ArgumentException>(() => LmuOnnxExporter.Export(broken, new LmuOnnxExportOptions()));
        StringAssert.Contains(e.Message, "Layers[1]: InputSize is 6 but layer 0 outputs 5 values per step");
        var ff = Assert.ThrowsExactly<ArgumentException>(() => LmuOnnxExporter.Export(spec, new LmuOnnxExportOptions { Form = LmuOnnxForm.FeedForward }));
        StringAssert.Contains(ff.Message, "layer 1 cannot");
    }

    internal static LmuNetwork Network(int layers)
    {
        var net = new LmuNetwork(StackConfigs.Network(layers, Channels));
        Randomise(net, 17 + layers, 0.4);
        net.eval();
        return net;
    }
}
