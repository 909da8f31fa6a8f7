using Lmu.MLNet.Modules;
using Lmu.MLNet.Onnx;
using TorchSharp;
using static Lmu.MLNet.Tests.Modules.LayerTestHelpers;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Onnx;

/// <summary>
/// The blocked form of a feed-forward memory under a SimpleRnn cell (<see cref="LmuOnnxBlockedLayer"/>: every step's
/// hidden input from block products, the cell's recurrence alone in a Scan) against TorchSharp, the Scan form of the
/// same graph and the float64 step-by-step forward of the spec. T = 40 ends with a partial block (zero-padded in front),
/// T = 48 is whole blocks. Tolerances: 1e-4 against TorchSharp and the float64 forward (float32 over 48 steps of O(1)
/// values, as the other parity tests), 1e-5 between the two ONNX forms. A power of A off by one, a Toeplitz block on the
/// wrong side of the diagonal, the padding at the wrong end or a missing bias response give O(0.1) differences.
/// </summary>
[TestClass]
public sealed class LmuOnnxBlockedTests
{
    private const int Channels = 2, Rows = 5;

    [TestMethod]
    [DataRow(1, true, true, LmuActivation.Tanh, 40, DisplayName = "one memory, x_t to the cell, memory bias, tanh, T 40")]
    [DataRow(3, true, true, LmuActivation.Relu, 48, DisplayName = "three memories, ReLU, T 48 (whole blocks)")]
    [DataRow(2, false, false, LmuActivation.Identity, 40, DisplayName = "two memories, memory only, no memory bias, identity")]
    [DataRow(2, true, true, LmuActivation.Sigmoid, 17, DisplayName = "two memories, sigmoid, T 17")]
    public void TheBlocksMatchTorchTheScanAndTheFloat64Forward(int memoryD, bool inputToHidden, bool memoryBias, LmuActivation activation, int steps)
    {
        using var net = Network([Layer(Channels, memoryD, inputToHidden, memoryBias, activation)]);
        OnnxParityNetworks.AssertBlocksAgree(net, Rows, steps, Channels, seed: 8);
    }

    [TestMethod]
    public void InsideAStackTheBlocksEmitEveryStep()
    {
        // A blocked first layer feeds every step to a Dense layer (feed-forward, last step).
        const int steps = 40;
        using var net = Network([Layer(Channels, 2, true, true, LmuActivation.Tanh),
            new LmuLayerOptions { InputSize = 6, MemoryD = 1, Order = 5, Theta = 15, HiddenCell = HiddenCell.Dense, HiddenUnits = 3, UseMemoryBias = true }]);
        var spec = net.ToSpec(steps);
        Assert.AreEqual(LmuOnnxForm.Blocked, LmuOnnxNetwork.ChooseForm(spec.Layers[0], LmuOnnxForm.Auto, false, 0, masked: false));
        var (x, torchValues) = Forward(net, steps);
        var onnx = OnnxRunner.Run(LmuOnnxExporter.Export(spec, new LmuOnnxExportOptions()), "Features", x, steps * Channels, "Output")["Output"];
        Bound.Below(1e-4, MaxDiff(torchValues, onnx), "stack with a blocked first layer against TorchSharp");
    }

    [TestMethod]
    public void WhereTheBlocksCannotComputeTheLayerAutoTakesTheScan()
    {
        using var net = Network([Layer(Channels, 2, true, true, LmuActivation.Tanh)]);
        var l = net.ToSpec(24).Layers[0];
        Assert.AreEqual(LmuOnnxForm.Blocked, LmuOnnxNetwork.ChooseForm(l, LmuOnnxForm.Auto, false, null, masked: false), "every row counts");
        Assert.AreEqual(LmuOnnxForm.Scan, LmuOnnxNetwork.ChooseForm(l, LmuOnnxForm.Auto, false, null, masked: true), "a length input");
        Assert.AreEqual(LmuOnnxForm.Scan, LmuOnnxNetwork.ChooseForm(l, LmuOnnxForm.Auto, sequences: true, null, masked: false), "per-step sequences");
        Assert.ThrowsExactly<ArgumentException>(() => LmuOnnxNetwork.ChooseForm(l, LmuOnnxForm.Blocked, false, null, masked: true));
        var recurrent = Layer(Channels, 2, true, true, LmuActivation.Tanh);
        recurrent.HiddenToMemory = true;
        using var rnnCell = Network([recurrent]);
        Assert.AreEqual(LmuOnnxForm.Blocked, LmuOnnxNetwork.ChooseForm(rnnCell.ToSpec(24).Layers[0], LmuOnnxForm.Auto, false, null, masked: false), "a recurrent memory: its own blocks");
        Assert.AreEqual(LmuOnnxForm.Scan, LmuOnnxNetwork.ChooseForm(rnnCell.ToSpec(24).Layers[0], LmuOnnxForm.Auto, false, null, masked: true), "a recurrent memory with a length input");

        // A wide memory under a wide cell: [8 x 128 + 16 x 8, 16 x 256] = 4.7 M elements, past the 4 M the blocks may write.
        var wide = Layer(Channels, 8, true, true, LmuActivation.Tanh);
        wide.Order = 128;
        wide.HiddenUnits = 256;
        using var wideNet = Network([wide]);
        Assert.AreEqual(LmuOnnxForm.Scan, LmuOnnxNetwork.ChooseForm(wideNet.ToSpec(24).Layers[0], LmuOnnxForm.Auto, false, null, masked: false), "past the wide matrix's cap");
    }

    [TestMethod]
    public void TheCarriedAndBatchedGraphsTakeTheBlocksAndMaskedOnesTheScan()
    {
        // What each exporter writes, read back from the bytes: the classifier's carried graph (one row per run) and the
        // standalone graph (batch axis) hold the blocks' two Scans (the blocks', the cell's) and no RNN operator; a
        // carried graph with a length input (right-aligned rows) the one step-by-step Scan.
        using var net = Network([Layer(Channels, 2, true, true, LmuActivation.Tanh)]);
        var spec = net.ToSpec(40);
        foreach (var (name, options) in new[] { ("carried", OnnxCarrier.MulticlassExportOptions("Features", ["a", "b", "c"])), ("batched", new LmuOnnxExportOptions()) })
        {
            var ops = OnnxOpTypes.Of(LmuOnnxExporter.Export(spec, options));
            Assert.AreEqual(2, ops.Count(t => t == "Scan"), $"{name} graph");
            CollectionAssert.DoesNotContain(ops, "RNN", $"{name} graph");
        }

        var masked = OnnxOpTypes.Of(LmuOnnxExporter.Export(spec, new LmuOnnxExportOptions { BatchAxis = false, LengthName = "Length" }));
        Assert.AreEqual(1, masked.Count(t => t == "Scan"), "one-row graph with a length input");
    }

    [TestMethod]
    public void TheForecastersGraphTakesTheBlocksAndForecastsAsTheFloat64Forward()
    {
        // The forecaster's graph scores one window per run: a feed-forward memory under a SimpleRnn cell takes the
        // blocks there (two Scans: the blocks', the cell's). Its forecasts against the float64 window forward (values
        // ~100: 1e-3, as the engine tests).
        var model = Forecasting.ForecastTestModels.Create(HiddenCell.SimpleRnn, 1, Lmu.MLNet.Forecasting.LmuForecastScaling.PerWindow,
            bounds: true, seed: 7, encoder: true, hiddenToMemory: false);
        Assert.AreEqual(2, OnnxOpTypes.Of(Lmu.MLNet.Forecasting.LmuForecastOnnx.Export(model)).Count(t => t == "Scan"), "forecaster's graph");
        var (values, covs) = Forecasting.ForecastTestModels.Series(40, 1);
        var ml = new Microsoft.ML.MLContext(1);
        using var chain = Lmu.MLNet.Forecasting.LmuForecastEstimator.CreateChain(ml, model);
        var windows = Lmu.MLNet.Forecasting.LmuForecastWindows.FromSeries(Forecasting.SeriesView.Create(ml, values, covs), "Value", model.WindowSize, 1, model.CovariateColumns);
        var forecasts = Microsoft.ML.Data.ColumnCursorExtensions.GetColumn<float[]>(chain.Transform(windows), "Forecast").ToArray();
        Assert.IsNotEmpty(forecasts);
        for (var row = 0; row < forecasts.Length; row++)
        {
            var end = model.WindowSize - 1 + row;
            var xw = Forecasting.ForecastTestModels.ScaledWindow(model, values, covs, end, out var a0, out var b0);
            var y = LmuWindowForward.Run(model.Network, xw);
            for (var h = 0; h < model.Horizon; h++)
            {
                Assert.AreEqual(a0 + b0 * y[h], forecasts[row][h], 2e-5 * Math.Abs(a0 + b0 * y[h]) + 1e-3, $"window {row} h {h}: graph vs float64 forward");
            }
        }
    }

    private static LmuLayerOptions Layer(int inputSize, int memoryD, bool inputToHidden, bool memoryBias, LmuActivation activation) => new()
    {
        InputSize = inputSize, MemoryD = memoryD, Order = 6, Theta = 13, HiddenCell = HiddenCell.SimpleRnn, HiddenUnits = 6,
        HiddenActivation = activation, InputToHidden = inputToHidden, UseMemoryBias = memoryBias,
    };

    private static LmuNetwork Network(LmuLayerOptions[] layers) => OnnxParityNetworks.Create(layers, seed: 23);

    private static (float[] X, float[] Torch) Forward(LmuNetwork net, int steps) => OnnxParityNetworks.Forward(net, Rows, steps, Channels, seed: 8);

    private static double MaxDiff(float[] a, float[] b) => OnnxParityNetworks.MaxDiff(a, b);
}
