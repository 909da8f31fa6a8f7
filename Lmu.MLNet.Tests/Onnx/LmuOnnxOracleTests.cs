using Lmu.MLNet.Network;
using Lmu.MLNet.Onnx;
using Lmu.MLNet.Tests.Infrastructure;

namespace Lmu.MLNet.Tests.Onnx;

/// <summary>
/// The exported graph, run by ONNX Runtime, against the float64 oracles' forward passes (committed and shared). One
/// tolerance for both: the graph runs in float32, whose rounding over these short O(1) sequences, not the oracle, sets it.
/// </summary>
[TestClass]
public sealed class LmuOnnxOracleTests
{
    private const double Tolerance = 1e-4;

    [TestMethod]
    [DataRow(OracleFile.Committed, 0)]
    [DataRow(OracleFile.Committed, 1)]
    [DataRow(OracleFile.Committed, 2)]
    [DataRow(OracleFile.Committed, 3)]
    [DataRow(OracleFile.Shared, 0)]
    [DataRow(OracleFile.Shared, 1)]
    [DataRow(OracleFile.Shared, 2)]
    [DataRow(OracleFile.Shared, 3)]
    public void ScanReproducesOracleAtEveryStep(string source, int index)
    {
        var c = OracleForwardCase.Read(OracleFile.Load(source), index, source);
        var model = LmuOnnxExporter.Export(c.Spec, new LmuOnnxExportOptions
        {
            RawOutputName = "Out", MemorySequenceName = "Mem", HiddenSequenceName = "Hid", FinalMemoryName = "MemT",
        });
        var steps = c.Spec.SequenceLength;
        var r = OnnxRunner.Run(model, "Features", c.Input, c.Input.Length, "Out", "Mem", "Hid", "MemT");
        var mw = c.Memory[0].Length;
        var units = c.Hidden[0].Length;
        for (var t = 0; t < steps; t++)
        {
            AssertClose(c.Memory[t], r["Mem"].AsSpan(t * mw, mw).ToArray(), Tolerance, $"{c.Label} memory t={t}");
            AssertClose(c.Hidden[t], r["Hid"].AsSpan(t * units, units).ToArray(), Tolerance, $"{c.Label} hidden t={t}");
        }

        AssertClose(c.Hidden[steps - 1], r["Out"], Tolerance, $"{c.Label} last hidden");
        AssertClose(c.Memory[steps - 1], r["MemT"], Tolerance, $"{c.Label} last memory");
    }

    [TestMethod]
    [DataRow(OracleFile.Committed, 2)]
    [DataRow(OracleFile.Committed, 3)]
    [DataRow(OracleFile.Shared, 2)]
    [DataRow(OracleFile.Shared, 3)]
    public void FeedForwardMemoryReproducesOracle(string source, int index)
    {
        // The oracle's cell is recurrent (SimpleRnn), so check the part the MatMul form computes: the last memory.
        var c = OracleForwardCase.Read(OracleFile.Load(source), index, source);
        var l = c.Spec.Layers[0];
        var memoryOnly = new LmuNetworkSpec
        {
            SequenceLength = c.Spec.SequenceLength,
            Head = [],
            Layers =
            [
                new LmuLayerSpec
                {
                    InputSize = l.InputSize, MemoryD = l.MemoryD, Order = l.Order, Ad = l.Ad, Bd = l.Bd, Ex = l.Ex, Bu = l.Bu,
                },
            ],
        };
        var model = LmuOnnxExporter.Export(memoryOnly, new LmuOnnxExportOptions { Form = LmuOnnxForm.FeedForward, RawOutputName = "Out" });
        var r = OnnxRunner.Run(model, "Features", c.Input, c.Input.Length, "Out");
        AssertClose(c.Memory[^1], r["Out"], Tolerance, c.Label);
    }

    internal static void AssertClose(double[] expected, IReadOnlyList<float> actual, double tol, string what) =>
        AssertClose(expected, actual.Select(v => (double)v).ToArray(), tol, what);

    internal static void AssertClose(double[] expected, double[] actual, double tol, string what)
    {
        Assert.HasCount(expected.Length, actual, what);
        for (var i = 0; i < expected.Length; i++)
        {
            var diff = Math.Abs(expected[i] - actual[i]);
            Assert.IsTrue(diff <= tol, $"{what} [{i}]: expected {expected[i]}, got {actual[i]} (|diff| {diff:E2} > {tol:E0})");
        }
    }
}
