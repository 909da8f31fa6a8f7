using Lmu.MLNet.Modules;
using Lmu.MLNet.Onnx;
using TorchSharp;
using static Lmu.MLNet.Tests.Modules.LayerTestHelpers;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Onnx;

/// <summary>
/// The folded Dense form of a feed-forward layer's last step (<see cref="LmuOnnxFoldedDenseLayer"/>: one product of
/// the row with a kernel folded in float64) against the float64 step-by-step forward of the spec, the unfolded graph
/// and TorchSharp. Tolerances: 1e-4 against the float64 forward and TorchSharp (float32 over 24 steps of O(1) values,
/// as the other parity tests), 1e-5 between the two graphs (the same sums in another order). A lag read backwards, a
/// missing memory-bias response or the x_t rows added to the wrong step give O(0.1) differences.
/// </summary>
[TestClass]
public sealed class LmuOnnxFoldedDenseTests
{
    private const int Steps = 24, Rows = 5;

    [TestMethod]
    [DataRow(1, 1, true, true, true, LmuActivation.Tanh, DisplayName = "one channel, encoder, memory bias, x_t term, tanh (ff_dense's shape)")]
    [DataRow(2, 2, true, true, false, LmuActivation.Relu, DisplayName = "2 channels into 2 memories, no x_t term, ReLU")]
    [DataRow(2, 2, false, false, true, LmuActivation.Identity, DisplayName = "no encoder, no memory bias, identity")]
    [DataRow(1, 3, true, true, true, LmuActivation.Sigmoid, DisplayName = "one channel into 3 memories, sigmoid")]
    public void TheFoldedGraphMatchesTheFloat64ForwardTheUnfoldedGraphAndTorch(int channels, int memoryD, bool encoder, bool memoryBias, bool inputToHidden, LmuActivation activation)
    {
        using var net = Network(channels, memoryD, encoder, memoryBias, inputToHidden, activation);
        var spec = net.ToSpec(Steps);
        Assert.IsTrue(LmuOnnxFoldedDenseLayer.Pays(spec.Layers[0], Steps), "the fold pays for this layer");
        var (x, torchValues) = Forward(net, channels);
        var foldedModel = LmuOnnxExporter.Export(spec, new LmuOnnxExportOptions());
        // Publishing the final memory keeps the unfolded form, which forms it.
        var unfoldedModel = LmuOnnxExporter.Export(spec, new LmuOnnxExportOptions { FinalMemoryName = "MemT" });
        Assert.AreEqual(3, OnnxOpTypes.Of(foldedModel).Count(t => t == "MatMul"), "folded: one product, then the two head layers");
        Assert.IsGreaterThan(3, OnnxOpTypes.Of(unfoldedModel).Count(t => t == "MatMul"), "unfolded: the impulse response's and the Dense kernel's products");

        var folded = OnnxRunner.Run(foldedModel, "Features", x, Steps * channels, "Output")["Output"];
        var unfolded = OnnxRunner.Run(unfoldedModel, "Features", x, Steps * channels, "Output")["Output"];
        Bound.Below(1e-5, MaxDiff(unfolded, folded), "folded against unfolded graph");
        Bound.Below(1e-4, MaxDiff(torchValues, folded), "folded graph against TorchSharp");
        OnnxParityNetworks.AssertFloat64Forward(spec, x, Steps * channels, folded, "folded graph");
    }

    [TestMethod]
    public void WhereTheFoldCostsMoreOrALengthInputMasksStepsTheGraphStaysUnfolded()
    {
        // 3 channels into 1 memory: the folded kernel [T C, U] is wider than encoding first.
        using var wide = Network(3, 1, true, true, true, LmuActivation.Tanh);
        var wideSpec = wide.ToSpec(Steps);
        Assert.IsFalse(LmuOnnxFoldedDenseLayer.Pays(wideSpec.Layers[0], Steps));
        Assert.IsGreaterThan(3, OnnxOpTypes.Of(LmuOnnxExporter.Export(wideSpec, new LmuOnnxExportOptions())).Count(t => t == "MatMul"), "3 into 1: unfolded");

        // A length input: a padded step's memory bias must not reach the memory, which b' could not express.
        using var net = Network(1, 1, true, true, true, LmuActivation.Tanh);
        var spec = net.ToSpec(Steps);
        var masked = LmuOnnxExporter.Export(spec, new LmuOnnxExportOptions { LengthName = "Length" });
        Assert.IsGreaterThan(3, OnnxOpTypes.Of(masked).Count(t => t == "MatMul"), "with a length input: unfolded");
    }

    private static LmuNetwork Network(int channels, int memoryD, bool encoder, bool memoryBias, bool inputToHidden, LmuActivation activation)
    {
        var layer = new LmuLayerOptions
        {
            InputSize = channels, MemoryD = memoryD, Order = 6, Theta = 13, HiddenCell = HiddenCell.Dense, HiddenUnits = 6,
            HiddenActivation = activation, InputToHidden = inputToHidden, UseInputEncoder = encoder, UseMemoryBias = memoryBias,
        };
        return OnnxParityNetworks.Create([layer], seed: 29);
    }

    private static (float[] X, float[] Torch) Forward(LmuNetwork net, int channels) => OnnxParityNetworks.Forward(net, Rows, Steps, channels, seed: 9);

    private static double MaxDiff(float[] a, float[] b) => OnnxParityNetworks.MaxDiff(a, b);
}
