using Lmu.MLNet.Modules;
using Lmu.MLNet.Onnx;

namespace Lmu.MLNet.Tests.Onnx;

/// <summary>
/// The blocked form of a recurrent memory (<see cref="LmuOnnxRecurrentBlockedLayer"/>: the memory formed at block ends
/// only, every step's memory term from the memory before the block, the block's inputs and the recurrent drives)
/// against TorchSharp, the Scan form of the same graph and the float64 step-by-step forward of the spec. T = 48 is
/// whole blocks of 8, T = 43 ends with a block of 3 in the main graph, T = 5 is that block alone, T = 9 one whole block
/// and one step. Tolerances: 1e-4 against TorchSharp and the float64 forward (float32 over up to 48 steps of O(1)
/// values, as the other parity tests), 1e-5 between the two ONNX forms. A power of A' off by one, a drive's lag off by
/// one, the memory-to-memory encoder left out of A' or a missing bias response gives O(0.01-0.1) differences.
/// </summary>
[TestClass]
public sealed class LmuOnnxRecurrentBlockedTests
{
    private const int Channels = 2, Rows = 5;

    [TestMethod]
    [DataRow(1, true, false, true, true, HiddenCell.SimpleRnn, LmuActivation.Tanh, 48, DisplayName = "hidden-to-memory, one memory, x_t to the cell, memory bias, T 48")]
    [DataRow(1, true, true, true, true, HiddenCell.SimpleRnn, LmuActivation.Tanh, 43, DisplayName = "both encoders, one memory, T 43 (a block of 3 last)")]
    [DataRow(3, true, true, false, true, HiddenCell.SimpleRnn, LmuActivation.Relu, 43, DisplayName = "both encoders, three memories, ReLU, T 43")]
    [DataRow(2, false, true, true, false, HiddenCell.SimpleRnn, LmuActivation.Sigmoid, 40, DisplayName = "memory-to-memory only, two memories, no memory bias, T 40")]
    [DataRow(2, true, false, true, true, HiddenCell.Dense, LmuActivation.Tanh, 41, DisplayName = "hidden-to-memory under a Dense cell, T 41")]
    [DataRow(2, true, true, true, true, HiddenCell.SimpleRnn, LmuActivation.Identity, 5, DisplayName = "both encoders, identity, T 5 (one short block)")]
    [DataRow(1, true, false, false, false, HiddenCell.SimpleRnn, LmuActivation.Tanh, 9, DisplayName = "hidden-to-memory, T 9 (a block and a step)")]
    [DataRow(1, true, true, true, true, HiddenCell.Lstm, LmuActivation.Tanh, 43, DisplayName = "LSTM, both encoders, one memory, T 43")]
    [DataRow(3, true, false, false, true, HiddenCell.Lstm, LmuActivation.Tanh, 16, DisplayName = "LSTM, hidden-to-memory, three memories, T 16")]
    [DataRow(2, false, true, true, false, HiddenCell.Lstm, LmuActivation.Tanh, 5, DisplayName = "LSTM, memory-to-memory, T 5")]
    public void TheBlocksMatchTorchTheScanAndTheFloat64Forward(
        int memoryD, bool hiddenToMemory, bool memoryToMemory, bool inputToHidden, bool memoryBias, HiddenCell cell, LmuActivation activation, int steps)
    {
        using var net = Network([Layer(Channels, memoryD, hiddenToMemory, memoryToMemory, inputToHidden, memoryBias, cell, activation)]);
        OnnxParityNetworks.AssertBlocksAgree(net, Rows, steps, Channels, seed: 11);
    }

    [TestMethod]
    public void OneRowPerRunAndInsideAStackTheBlocksScoreAsTorchDoes()
    {
        // The graph ML.NET carries has no batch axis; the recurrent first layer feeds every step (its h sequence, the
        // Scan's per-block outputs and the last block's) to a second recurrent layer, blocked as well.
        const int steps = 43;
        using var net = Network([
            Layer(Channels, 2, true, true, true, true, HiddenCell.SimpleRnn, LmuActivation.Tanh),
            Layer(6, 1, true, false, true, true, HiddenCell.SimpleRnn, LmuActivation.Tanh)]);
        var spec = net.ToSpec(steps);
        CollectionAssert.AreEqual(new[] { LmuOnnxForm.Blocked, LmuOnnxForm.Blocked },
            spec.Layers.Select((l, i) => LmuOnnxNetwork.ChooseForm(l, LmuOnnxForm.Auto, false, i, masked: false)).ToArray(), "Auto");
        var (x, torchValues) = Forward(net, steps);
        var batched = OnnxRunner.Run(LmuOnnxExporter.Export(spec, new LmuOnnxExportOptions()), "Features", x, steps * Channels, "Output")["Output"];
        Bound.Below(1e-4, MaxDiff(torchValues, batched), "stack, batched graph, against TorchSharp");
        var oneRow = OnnxRunner.RunRowByRow(LmuOnnxExporter.Export(spec, new LmuOnnxExportOptions { BatchAxis = false }), "Features", x, steps * Channels, "Output");
        Bound.Below(1e-4, MaxDiff(torchValues, oneRow), "stack, one-row graph, against TorchSharp");
        OnnxParityNetworks.AssertFloat64Forward(spec, x, steps * Channels, oneRow, "stack of blocks");
    }

    [TestMethod]
    public void TheCarriedGraphLoopsOverBlocksAndOtherCellsKeepTheScan()
    {
        // The classifier's carried graph: one Scan, over the 5 whole blocks of T 43, whose body unrolls 8 steps (8 Tanh
        // nodes; the step Scan's body has 1), and the last 3 steps in the main graph (3 Tanh there).
        using var net = Network([Layer(Channels, 2, true, true, true, true, HiddenCell.SimpleRnn, LmuActivation.Tanh)]);
        var carried = LmuOnnxExporter.Export(net.ToSpec(43), OnnxCarrier.MulticlassExportOptions("Features", ["a", "b", "c"]));
        Assert.AreEqual(1, OnnxOpTypes.Of(carried).Count(t => t == "Scan"), "one Scan, over the blocks");
        Assert.AreEqual(8, OnnxOpTypes.InBodies(carried).Count(t => t == "Tanh"), "the body unrolls a block of 8 steps");
        Assert.AreEqual(3, OnnxOpTypes.Of(carried).Count(t => t == "Tanh"), "the last 3 steps in the main graph");
        var stepped = LmuOnnxExporter.Export(net.ToSpec(43), new LmuOnnxExportOptions { Form = LmuOnnxForm.Scan });
        Assert.AreEqual(1, OnnxOpTypes.InBodies(stepped).Count(t => t == "Tanh"), "the step Scan's body: one step");

        // A length input right-aligns rows (a padded step must not move the state): the Scan; a GRU cell too (its reset
        // gate multiplies the recurrent term, which the blocks' sums do not separate).
        var spec = net.ToSpec(24);
        Assert.AreEqual(LmuOnnxForm.Scan, LmuOnnxNetwork.ChooseForm(spec.Layers[0], LmuOnnxForm.Auto, false, null, masked: true), "a length input");
        Assert.AreEqual(LmuOnnxForm.Scan, LmuOnnxNetwork.ChooseForm(spec.Layers[0], LmuOnnxForm.Auto, sequences: true, null, masked: false), "per-step sequences");
        foreach (var other in new[] { HiddenCell.Gru })
        {
            using var gated = Network([Layer(Channels, 2, true, true, true, true, other, LmuActivation.Tanh)]);
            var l = gated.ToSpec(24).Layers[0];
            Assert.AreEqual(LmuOnnxForm.Scan, LmuOnnxNetwork.ChooseForm(l, LmuOnnxForm.Auto, false, null, masked: false), other.ToString());
            var e = Assert.ThrowsExactly<ArgumentException>(() => LmuOnnxNetwork.ChooseForm(l, LmuOnnxForm.Blocked, false, null, masked: false));
            StringAssert.Contains(e.Message, "SimpleRnn, LSTM or Dense cell over a recurrent memory");
        }

        // Past the memory width the export forms powers of: 8 x 72 = 576 > 512.
        var wide = Layer(Channels, 8, true, false, true, true, HiddenCell.SimpleRnn, LmuActivation.Tanh);
        wide.Order = 72;
        using var wideNet = Network([wide]);
        Assert.AreEqual(LmuOnnxForm.Scan, LmuOnnxNetwork.ChooseForm(wideNet.ToSpec(24).Layers[0], LmuOnnxForm.Auto, false, null, masked: false), "past the width cap");

        // Many input channels: the block's input matrices ([8 C, 8 units] and [8 C, M]) count too: 1200 channels fit
        // (about 960 C elements for a whole block and a tail), 9000 do not.
        foreach (var (channels, expected) in new[] { (1200, LmuOnnxForm.Blocked), (9000, LmuOnnxForm.Scan) })
        {
            using var manyInputs = Network([Layer(channels, 2, true, false, true, true, HiddenCell.SimpleRnn, LmuActivation.Tanh)]);
            Assert.AreEqual(expected, LmuOnnxNetwork.ChooseForm(manyInputs.ToSpec(4).Layers[0], LmuOnnxForm.Auto, false, null, masked: false), $"{channels} channels");
        }
    }

    [TestMethod]
    [DataRow(1, 256, 212, true, DisplayName = "psMNIST's rnn_cell (D 1, q 256, 212 units): blocks")]
    [DataRow(64, 2, 512, true, DisplayName = "D 64, q 2, 512 units (3.6 M elements written): blocks")]
    [DataRow(64, 8, 256, false, DisplayName = "D 64, q 8, 256 units (4.4 M): the Scan")]
    [DataRow(512, 1, 1000, false, DisplayName = "D 512, q 1, 1000 units (19 M): the Scan")]
    public void AutoTakesTheBlocksWithinTheSizesTheyWrite(int memoryD, int order, int units, bool blocks)
    {
        // Every constant of a whole block and a tail counted: the recurrent drives' [(j+1) D, units] matrices grow with
        // D units, A'^8 with M^2 (the cap once counted the three widest matrices only and let a 186 MB model through).
        var o = Layer(1, memoryD, true, true, true, true, HiddenCell.SimpleRnn, LmuActivation.Tanh);
        (o.Order, o.HiddenUnits) = (order, units);
        using var net = Network([o]);
        var l = net.ToSpec(16).Layers[0];
        Assert.AreEqual(blocks, LmuOnnxRecurrentBlockedLayer.Supports(l), "within the sizes");
        Assert.AreEqual(blocks ? LmuOnnxForm.Blocked : LmuOnnxForm.Scan, LmuOnnxNetwork.ChooseForm(l, LmuOnnxForm.Auto, false, null, masked: false));
    }

    [TestMethod]
    public void ADenseCellCarryingRecurrentWeightsIgnoresThemAsTheScanDoes()
    {
        // A Dense cell has no W_hh; a spec that carries one anyway (the validator accepts it) must not get h U + b_hh.
        using var net = Network([Layer(Channels, 2, true, true, true, true, HiddenCell.Dense, LmuActivation.Tanh)]);
        var spec = net.ToSpec(12);
        var l = spec.Layers[0];
        var withRecurrent = new Lmu.MLNet.Network.LmuLayerSpec
        {
            InputSize = l.InputSize, MemoryD = l.MemoryD, Order = l.Order, Ad = l.Ad, Bd = l.Bd, Ex = l.Ex, Bu = l.Bu, Eh = l.Eh, Em = l.Em,
            InputToHidden = l.InputToHidden, Hidden = l.Hidden, Units = l.Units, HiddenInput = l.HiddenInput,
            HiddenRecurrent = new Lmu.MLNet.Network.DenseSpec
            {
                In = l.Units, Out = l.Units, W = Enumerable.Range(0, l.Units * l.Units).Select(i => 0.3f * MathF.Sin(i)).ToArray(),
                B = Enumerable.Repeat(0.5f, l.Units).ToArray(),
            },
        };
        var altered = new Lmu.MLNet.Network.LmuNetworkSpec { SequenceLength = spec.SequenceLength, Layers = [withRecurrent], Head = spec.Head, Readout = spec.Readout };
        var (x, _) = Forward(net, 12);
        float[] Run(Lmu.MLNet.Network.LmuNetworkSpec s, LmuOnnxForm form) => OnnxRunner.Run(LmuOnnxExporter.Export(s, new LmuOnnxExportOptions { Form = form }), "Features", x, 12 * Channels, "Output")["Output"];
        var plain = Run(spec, LmuOnnxForm.Blocked);
        Bound.Below(1e-6, MaxDiff(plain, Run(altered, LmuOnnxForm.Blocked)), "blocks ignore the Dense cell's W_hh and b_hh");
        Bound.Below(1e-5, MaxDiff(plain, Run(altered, LmuOnnxForm.Scan)), "as the Scan does");
    }

    private static LmuLayerOptions Layer(
        int inputSize, int memoryD, bool hiddenToMemory, bool memoryToMemory, bool inputToHidden, bool memoryBias, HiddenCell cell, LmuActivation activation) => new()
    {
        InputSize = inputSize, MemoryD = memoryD, Order = 6, Theta = 13, HiddenCell = cell, HiddenUnits = 6,
        HiddenActivation = activation, InputToHidden = inputToHidden, UseMemoryBias = memoryBias,
        HiddenToMemory = hiddenToMemory, MemoryToMemory = memoryToMemory,
    };

    private static LmuNetwork Network(LmuLayerOptions[] layers) => OnnxParityNetworks.Create(layers, seed: 29);

    private static (float[] X, float[] Torch) Forward(LmuNetwork net, int steps) => OnnxParityNetworks.Forward(net, Rows, steps, Channels, seed: 11);

    private static double MaxDiff(float[] a, float[] b) => OnnxParityNetworks.MaxDiff(a, b);
}
