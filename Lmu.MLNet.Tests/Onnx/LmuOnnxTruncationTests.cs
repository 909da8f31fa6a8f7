using Lmu.MLNet.Classification;
using Lmu.MLNet.Forecasting;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Onnx;
using TorchSharp;
using static Lmu.MLNet.Tests.Modules.LayerTestHelpers;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Onnx;

/// <summary>
/// A truncated impulse response in the exported graph: the spec carries <c>ImpulseTruncation</c> and the feed-forward
/// forms (the last-step product, the folded Dense kernel, a stacked layer's convolution) read only its lags, as the
/// TorchSharp layer does (checked against windows of the cell in <c>ImpulseTruncationTests</c>). Until 2026-12-05 the
/// export kept every lag, so a saved model computed another function than the one trained. Tolerance 1e-4 (float32
/// over 24 steps of O(1) values, as the other parity tests); a kept lag moves the outputs by ~1e-2. The loop forms and
/// the streaming forecaster cannot compute a window, so they are refused with the option's name, before training
/// where the estimators can tell.
/// </summary>
[TestClass]
public sealed class LmuOnnxTruncationTests
{
    private const int Steps = 24, Rows = 4, Channels = 2, K = 9;

    [TestMethod]
    public void TheExportedGraphsReadTheWindowAsTorchDoes()
    {
        using var single = Network([Layer(HiddenCell.Dense, Channels)]);
        using var stack = Network([Layer(HiddenCell.None, Channels), Layer(HiddenCell.Dense, 2 * 6 + Channels)]);
        foreach (var (name, net) in new[] { ("one Dense layer", single), ("a memory under a Dense layer", stack) })
        {
            var spec = net.ToSpec(Steps);
            Assert.IsTrue(spec.Layers.All(l => l.ImpulseTruncation == K), $"{name}: the spec carries the truncation");
            var (x, torchValues) = Forward(net);
            foreach (var options in new[] { new LmuOnnxExportOptions(), new LmuOnnxExportOptions { FinalMemoryName = "MemT" }, new LmuOnnxExportOptions { LengthName = "Length" } })
            {
                var model = LmuOnnxExporter.Export(spec, options);
                var onnx = options.LengthName is null
                    ? OnnxRunner.Run(model, "Features", x, Steps * Channels, "Output")["Output"]
                    : OnnxRunner.RunWithLengths(model, "Features", x, Steps * Channels, "Length", Enumerable.Repeat((float)Steps, Rows).ToArray(), "Output");
                var what = options.FinalMemoryName is not null ? "unfolded" : options.LengthName is not null ? "with a length input" : "folded";
                Bound.Below(1e-4, torchValues.Zip(onnx, (a, b) => (double)Math.Abs(a - b)).Max(), $"{name}, {what}: ONNX against TorchSharp");
            }
        }
    }

    [TestMethod]
    public void RowsShorterThanTheWindowReadTheirOwnStepsOnly()
    {
        // Variable lengths, some shorter than the window (K = 9): the graph right-aligns each row and masks the padded
        // steps out of the memory, TorchSharp reads each row's output at its own last step; both must see the same
        // window of real steps (and, for the shortest rows, fewer than K of them).
        using var stack = Network([Layer(HiddenCell.None, Channels), Layer(HiddenCell.Dense, 2 * 6 + Channels)]);
        var spec = stack.ToSpec(Steps);
        var lengths = new long[] { Steps, 5, 12, 3 };
        using var scope = NewDisposeScope();
        var x = torch.randn([Rows, Steps, Channels], generator: new torch.Generator(11));
        float[] expected;
        using (torch.no_grad()) expected = stack.forward(x, torch.tensor(lengths)).data<float>().ToArray();
        var onnx = OnnxRunner.RunWithLengths(LmuOnnxExporter.Export(spec, new LmuOnnxExportOptions { LengthName = "Length" }), "Features",
            x.reshape(Rows, -1).data<float>().ToArray(), Steps * Channels, "Length", lengths.Select(n => (float)n).ToArray(), "Output");
        Bound.Below(1e-4, OnnxParityNetworks.MaxDiff(expected, onnx), "ONNX with lengths against TorchSharp");
    }

    [TestMethod]
    public void FormsAndModelsThatCannotComputeAWindowAreRefused()
    {
        using var dense = Network([Layer(HiddenCell.Dense, Channels)]);
        var e = Assert.ThrowsExactly<ArgumentException>(() => LmuOnnxExporter.Export(dense.ToSpec(Steps), new LmuOnnxExportOptions { Form = LmuOnnxForm.Scan }));
        StringAssert.Contains(e.Message, "ImpulseTruncation");
        using var rnn = Network([Layer(HiddenCell.SimpleRnn, Channels)]);
        e = Assert.ThrowsExactly<ArgumentException>(() => LmuOnnxExporter.Export(rnn.ToSpec(Steps), new LmuOnnxExportOptions()));
        StringAssert.Contains(e.Message, "SimpleRnn");

        // Before training: the classifier's saved model could not compute a SimpleRnn over a window; the forecaster streams.
        var classifier = new LmuClassifierOptions { Channels = Channels };
        classifier.Layer.HiddenCell = HiddenCell.SimpleRnn;
        classifier.Layer.ImpulseTruncation = K;
        e = Assert.ThrowsExactly<ArgumentException>(classifier.Validate);
        StringAssert.Contains(e.Message, "Layer.ImpulseTruncation");
        classifier.Layer.HiddenCell = HiddenCell.Dense;
        classifier.Validate();
        var forecaster = new LmuForecastingOptions { WindowSize = Steps, Horizon = 2, LabelColumnName = "Next", Layer = new LmuLayerOptions { ImpulseTruncation = K } };
        e = Assert.ThrowsExactly<ArgumentException>(forecaster.Validate);
        StringAssert.Contains(e.Message, "Layer.ImpulseTruncation");
        forecaster.Layer.ImpulseTruncation = 0;
        forecaster.Validate();
    }

    private static LmuLayerOptions Layer(HiddenCell cell, int inputSize) => new()
    {
        InputSize = inputSize, MemoryD = 2, Order = 6, Theta = 11, HiddenCell = cell, HiddenUnits = 5, InputToHidden = true,
        UseMemoryBias = true, ImpulseTruncation = K,
    };

    private static LmuNetwork Network(LmuLayerOptions[] layers) => OnnxParityNetworks.Create(layers, seed: 37);

    private static (float[] X, float[] Torch) Forward(LmuNetwork net) => OnnxParityNetworks.Forward(net, Rows, Steps, Channels, seed: 10);
}
