using Lmu.MLNet.Network;
using Lmu.MLNet.Onnx;

using Lmu.MLNet.Modules;

namespace Lmu.MLNet.Tests.Onnx;

/// <summary>Every hidden cell and encoder variant of the exported graph against the float64 C# reference.</summary>
[TestClass]
public sealed class LmuOnnxCellTests
{
    private const int Rows = 5;

    [TestMethod]
    [DataRow("None", false, false, true, true)]
    [DataRow("None", false, true, false, true)]
    [DataRow("None", false, false, false, false)]
    [DataRow("Dense", false, false, true, true)]
    [DataRow("Dense", true, true, true, true)]
    [DataRow("SimpleRnn", true, false, false, true)]
    [DataRow("Lstm", false, false, true, true)]
    [DataRow("Lstm", true, true, true, true)]
    [DataRow("Lstm", false, true, false, false)]
    [DataRow("Gru", false, false, true, true)]
    [DataRow("Gru", true, true, false, true)]
    // One memory channel: the memory-to-memory encoder folds into the Scan's transition matrix (Ad^T + Em Bd^T).
    [DataRow("SimpleRnn", true, true, true, true, 1)]
    [DataRow("Dense", false, true, true, true, 1)]
    [DataRow("None", false, true, false, true, 1)]
    public void ScanMatchesReference(string hiddenName, bool h2m, bool m2m, bool i2h, bool encoder, int memoryD = 2)
    {
        var spec = TestSpecs.Random(Enum.Parse<HiddenCell>(hiddenName), seed: 11, h2m: h2m, m2m: m2m, i2h: i2h, encoder: encoder, memoryD: memoryD);
        var model = LmuOnnxExporter.Export(spec, new LmuOnnxExportOptions
        {
            Form = LmuOnnxForm.Scan, RawOutputName = "Out", FinalMemoryName = "MemT", LayerOutputName = "Layer",
        });
        CheckAgainstReference(spec, model);
    }

    [TestMethod]
    [DataRow("None", true, true)]
    [DataRow("None", false, false)]
    [DataRow("Dense", true, true)]
    [DataRow("Dense", false, true)]
    public void FeedForwardMatchesReference(string hiddenName, bool i2h, bool encoder)
    {
        var spec = TestSpecs.Random(Enum.Parse<HiddenCell>(hiddenName), seed: 5, i2h: i2h, encoder: encoder);
        var model = LmuOnnxExporter.Export(spec, new LmuOnnxExportOptions
        {
            Form = LmuOnnxForm.FeedForward, RawOutputName = "Out", FinalMemoryName = "MemT", LayerOutputName = "Layer",
        });
        CheckAgainstReference(spec, model);
    }

    [TestMethod]
    [DataRow("None", true)]
    [DataRow("Dense", true)]
    [DataRow("Dense", false)]
    public void FeedForwardEqualsScan(string hiddenName, bool i2h)
    {
        // A long sequence and a slow memory so that the impulse response's tail matters.
        var spec = TestSpecs.Random(Enum.Parse<HiddenCell>(hiddenName), seed: 3, i2h: i2h, steps: 40, order: 6);
        var x = TestSpecs.Inputs(spec, Rows, seed: 8);
        var width = spec.SequenceLength * spec.Layers[0].InputSize;
        float[] Score(LmuOnnxForm form) =>
            OnnxRunner.Run(LmuOnnxExporter.Export(spec, new LmuOnnxExportOptions { Form = form, RawOutputName = "Out" }), "Features", x, width, "Out")["Out"];
        var ff = Score(LmuOnnxForm.FeedForward);
        var scan = Score(LmuOnnxForm.Scan);
        LmuOnnxOracleTests.AssertClose(scan.Select(v => (double)v).ToArray(), ff, 1e-5, "feed-forward vs scan");
    }

    [TestMethod]
    public void AutoChoosesScanForRecurrentMemoryAndRejectsImpossibleFeedForward()
    {
        var spec = TestSpecs.Random(HiddenCell.Lstm, seed: 1);
        Assert.ThrowsExactly<ArgumentException>(() => LmuOnnxExporter.Export(spec, new LmuOnnxExportOptions { Form = LmuOnnxForm.FeedForward }));
        var m2m = TestSpecs.Random(HiddenCell.Dense, seed: 1, m2m: true);
        Assert.ThrowsExactly<ArgumentException>(() => LmuOnnxExporter.Export(m2m, new LmuOnnxExportOptions { Form = LmuOnnxForm.FeedForward }));
        CheckAgainstReference(m2m, LmuOnnxExporter.Export(m2m, new LmuOnnxExportOptions { RawOutputName = "Out", FinalMemoryName = "MemT", LayerOutputName = "Layer" }));
    }

    [TestMethod]
    public void InconsistentSpecIsRejectedWithAClearMessage()
    {
        var good = TestSpecs.Random(HiddenCell.Gru, seed: 2);
        var bad = new LmuNetworkSpec
        {
            SequenceLength = good.SequenceLength,
            Head = good.Head,
            Layers =
            [
                new LmuLayerSpec
                {
                    InputSize = good.Layers[0].InputSize, MemoryD = good.Layers[0].MemoryD, Order = good.Layers[0].Order, Ad = good.Layers[0].Ad,
                    Bd = good.Layers[0].Bd, Ex = good.Layers[0].Ex, Hidden = HiddenCell.Gru, Units = good.Layers[0].Units,
                    InputToHidden = true, HiddenInput = good.Layers[0].HiddenInput, HiddenRecurrent = null,
                },
            ],
        };
        var e = Assert.ThrowsExactly<ArgumentException>(() => LmuOnnxExporter.Export(bad, new LmuOnnxExportOptions()));
        StringAssert.Contains(e.Message, "HiddenRecurrent");
    }

    private static void CheckAgainstReference(LmuNetworkSpec spec, byte[] model)
    {
        var x = TestSpecs.Inputs(spec, Rows, seed: 21);
        var width = spec.SequenceLength * spec.Layers[0].InputSize;
        var r = OnnxRunner.Run(model, "Features", x, width, "Out", "MemT", "Layer");
        int mw = spec.Layers[0].MemoryD * spec.Layers[0].Order, lw = spec.Layers[0].OutputSize, ow = spec.OutputSize;
        for (var n = 0; n < Rows; n++)
        {
            var (mem, layer, output) = LmuReferenceModel.Forward(spec, x.AsSpan(n * width, width).ToArray());
            LmuOnnxOracleTests.AssertClose(mem, r["MemT"].AsSpan(n * mw, mw).ToArray(), 1e-4, $"row {n} memory");
            LmuOnnxOracleTests.AssertClose(layer, r["Layer"].AsSpan(n * lw, lw).ToArray(), 1e-4, $"row {n} layer");
            LmuOnnxOracleTests.AssertClose(output, r["Out"].AsSpan(n * ow, ow).ToArray(), 1e-4, $"row {n} output");
        }
    }
}
