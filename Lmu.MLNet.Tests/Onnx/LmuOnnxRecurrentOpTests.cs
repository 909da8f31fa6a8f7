using Lmu.MLNet.Modules;
using Lmu.MLNet.Onnx;
using Lmu.MLNet.Tests.Modules;
using TorchSharp;
using static Lmu.MLNet.Tests.Modules.LayerTestHelpers;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Onnx;

/// <summary>
/// The RNN-operator form of a feed-forward memory under a SimpleRnn cell (<see cref="LmuOnnxRecurrentOpLayer"/>)
/// against TorchSharp's network, the Scan form of the same graph and the float64 step-by-step forward of the spec.
/// Tolerances: 1e-4 against TorchSharp and the float64 forward (float32 over 24 steps of O(1) values, as the other
/// parity tests), 1e-5 between the two ONNX forms (the same float32 products in another order). A transposed kernel,
/// a missing bias or a memory channel read from the wrong rows gives O(0.1) differences.
/// </summary>
[TestClass]
public sealed class LmuOnnxRecurrentOpTests
{
    private const int Steps = 24, Channels = 2, Rows = 5;

    [TestMethod]
    [DataRow(1, true, LmuActivation.Tanh, DisplayName = "one memory, x_t to the cell, tanh")]
    [DataRow(3, true, LmuActivation.Relu, DisplayName = "three memories, x_t to the cell, ReLU")]
    [DataRow(2, false, LmuActivation.Identity, DisplayName = "two memories, memory only, identity (Affine)")]
    [DataRow(2, true, LmuActivation.Sigmoid, DisplayName = "two memories, sigmoid")]
    public void TheOperatorsMatchTorchTheScanAndTheFloat64Forward(int memoryD, bool inputToHidden, LmuActivation activation)
    {
        using var net = Network([Layer(Channels, memoryD, inputToHidden, activation)]);
        var (x, torchValues) = Forward(net);
        var spec = net.ToSpec(Steps);
        var ops = OnnxRunner.Run(LmuOnnxExporter.Export(spec, new LmuOnnxExportOptions { Form = LmuOnnxForm.RecurrentOps }), "Features", x, Steps * Channels, "Output")["Output"];
        var scan = OnnxRunner.Run(LmuOnnxExporter.Export(spec, new LmuOnnxExportOptions { Form = LmuOnnxForm.Scan }), "Features", x, Steps * Channels, "Output")["Output"];
        Bound.Below(1e-4, MaxDiff(torchValues, ops), "RNN operators against TorchSharp");
        Bound.Below(1e-5, MaxDiff(scan, ops), "RNN operators against the Scan");
        OnnxParityNetworks.AssertFloat64Forward(spec, x, Steps * Channels, ops, "ONNX");
    }

    [TestMethod]
    public void InsideAStackInAOneRowGraphTheyScoreEachRowAsTorchDoes()
    {
        // The graph ML.NET carries (no batch axis), with the operators asked for: the first layer's every step feeds the
        // second (the sequence output). Auto picks the blocks for such layers, in both layouts (LmuOnnxBlockedTests).
        using var net = Network([Layer(Channels, 2, true, LmuActivation.Tanh), Layer(6, 1, true, LmuActivation.Tanh)]);
        var spec = net.ToSpec(Steps);
        CollectionAssert.AreEqual(new[] { LmuOnnxForm.Blocked, LmuOnnxForm.Blocked },
            spec.Layers.Select((l, i) => LmuOnnxNetwork.ChooseForm(l, LmuOnnxForm.Auto, false, i, masked: false)).ToArray(), "Auto");

        var model = LmuOnnxExporter.Export(spec, new LmuOnnxExportOptions { BatchAxis = false, Form = LmuOnnxForm.RecurrentOps });
        Assert.AreEqual(4, OnnxOpTypes.Of(model).Count(t => t == "RNN"), "two operators per layer");
        var (x, torchValues) = Forward(net);
        var oneRowGraph = OnnxRunner.RunRowByRow(model, "Features", x, Steps * Channels, "Output");
        Bound.Below(1e-4, MaxDiff(torchValues, oneRowGraph), "one-row graph against TorchSharp");
    }

    [TestMethod]
    public void WhereTheOperatorsCannotComputeTheLayerTheFormIsRefusedOrNotChosen()
    {
        var ff = Layer(Channels, 2, true, LmuActivation.Tanh);
        using var plain = Network([ff]);
        var l = plain.ToSpec(Steps).Layers[0];
        // Variable-length rows are right-aligned; the operator's sequence_lens would read them left-aligned.
        Assert.AreEqual(LmuOnnxForm.Scan, LmuOnnxNetwork.ChooseForm(l, LmuOnnxForm.Auto, false, null, masked: true));
        Assert.ThrowsExactly<ArgumentException>(() => LmuOnnxNetwork.ChooseForm(l, LmuOnnxForm.RecurrentOps, false, null, masked: true));
        Assert.ThrowsExactly<ArgumentException>(() => LmuOnnxNetwork.ChooseForm(l, LmuOnnxForm.RecurrentOps, sequences: true, null));

        // A recurrent memory (hidden-to-memory) or another cell: not two Elman recurrences.
        var recurrent = Layer(Channels, 2, true, LmuActivation.Tanh);
        recurrent.HiddenToMemory = true;
        var lstm = Layer(Channels, 2, true, LmuActivation.Tanh);
        lstm.HiddenCell = HiddenCell.Lstm;
        foreach (var o in new[] { recurrent, lstm })
        {
            using var net = Network([o]);
            var spec = net.ToSpec(Steps);
            // Auto: the recurrent memory's blocks (LmuOnnxRecurrentBlockedTests), the LSTM's Scan.
            var auto = o.HiddenCell == HiddenCell.Lstm ? LmuOnnxForm.Scan : LmuOnnxForm.Blocked;
            Assert.AreEqual(auto, LmuOnnxNetwork.ChooseForm(spec.Layers[0], LmuOnnxForm.Auto, false, null, masked: false), o.HiddenCell.ToString());
            var e = Assert.ThrowsExactly<ArgumentException>(() => LmuOnnxExporter.Export(spec, new LmuOnnxExportOptions { Form = LmuOnnxForm.RecurrentOps }));
            StringAssert.Contains(e.Message, "SimpleRnn hidden cell");
        }
    }

    [TestMethod]
    public void TheOperatorsPublishTheLastMemoryAsTheScanDoes()
    {
        // FinalMemoryName reads the memory operator's last state: [N, MemoryD*Order], channel k's values at k*Order.
        using var net = Network([Layer(Channels, 3, true, LmuActivation.Tanh)]);
        var spec = net.ToSpec(Steps);
        var (x, _) = Forward(net);
        float[] Memory(LmuOnnxForm form) => OnnxRunner.Run(LmuOnnxExporter.Export(spec, new LmuOnnxExportOptions { Form = form, FinalMemoryName = "MemT" }), "Features", x, Steps * Channels, "MemT")["MemT"];
        var scan = Memory(LmuOnnxForm.Scan);
        Assert.HasCount(Rows * 3 * 6, scan);
        Bound.Below(1e-5, MaxDiff(scan, Memory(LmuOnnxForm.RecurrentOps)), "last memory: RNN operators against the Scan");
    }

    private static LmuLayerOptions Layer(int inputSize, int memoryD, bool inputToHidden, LmuActivation activation) => new()
    {
        InputSize = inputSize, MemoryD = memoryD, Order = 6, Theta = 13, HiddenCell = HiddenCell.SimpleRnn, HiddenUnits = 6,
        HiddenActivation = activation, InputToHidden = inputToHidden, UseMemoryBias = true,
    };

    private static LmuNetwork Network(LmuLayerOptions[] layers) => OnnxParityNetworks.Create(layers, seed: 23);

    private static (float[] X, float[] Torch) Forward(LmuNetwork net) => OnnxParityNetworks.Forward(net, Rows, Steps, Channels, seed: 8);

    private static double MaxDiff(float[] a, float[] b) => OnnxParityNetworks.MaxDiff(a, b);
}
