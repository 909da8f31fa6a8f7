using Lmu.MLNet.Modules;
using TorchSharp;
using static Lmu.MLNet.Tests.Modules.LayerTestHelpers;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Modules;

/// <summary>
/// Training through the blocked forward form (the memory kept at block ends only, dL/dW and dL/dE's memory rows from
/// the block starts) against the same pass keeping every step's memory, for every input's gradient, and through the
/// layer against the step-by-step cell. float64 to 1e-10 relative: the forms differ by reassociated sums over at most
/// 8 powers of A. The shapes are large enough for the blocks to pay (D_m 48 or 96, batch 26 or 48): below that the pass steps
/// and the test would compare a form with itself, which the pass counters rule out.
/// </summary>
[TestClass]
public sealed class TwoStageBlockedTrainingTests
{
    [TestMethod]
    [DataRow(true, true, true, 40, DisplayName = "v0, recurrent encoders, U: five whole blocks")]
    [DataRow(true, true, true, 43, DisplayName = "v0, recurrent encoders, U, three steps after the last block")]
    [DataRow(false, false, true, 40, DisplayName = "no v0, no recurrent encoders")]
    [DataRow(true, true, false, 43, DisplayName = "no U (a Dense hidden cell)")]
    [DataRow(false, true, true, 41, DisplayName = "no v0, five blocks and one step")]
    public void BlocksEqualTheKeptMemoryForEveryGradient(bool withV0, bool withE, bool withU, int steps)
    {
        var inputs = Inputs(steps, withV0, withE, withU);
        long passes = TwoStageScanLastFunction.BlockedTrainingPasses;
        var blocked = Gradients(inputs);
        Assert.AreEqual(1, TwoStageScanLastFunction.BlockedTrainingPasses - passes, "the pass must run in blocks");

        TwoStageScanLastFunction.UseBlockedTraining = false;
        Dictionary<string, Tensor> kept;
        try
        {
            passes = TwoStageScanLastFunction.BlockedTrainingPasses;
            kept = Gradients(inputs);
            Assert.AreEqual(0, TwoStageScanLastFunction.BlockedTrainingPasses - passes, "the reference must keep every memory");
        }
        finally
        {
            TwoStageScanLastFunction.UseBlockedTraining = true;
        }

        // x, v, w, s0 always; v0, e and u where present (A and Bx are fixed: the blocks need them so).
        Assert.AreEqual(4 + (withV0 ? 1 : 0) + (withE ? 1 : 0) + (withU ? 1 : 0), kept.Count, "gradients compared");
        Assert.AreEqual(kept.Count, blocked.Count);
        foreach (var (name, expected) in kept)
        {
            double scale = Math.Max(1, expected.abs().max().item<double>());
            Assert.IsTrue(expected.abs().max().item<double>() > 1e-6, $"{name}: the reference gradient is zero, the test cannot tell");
            Assert.IsTrue(MaxAbsDiff(blocked[name], expected) < 1e-10 * scale, $"{name}: differs by {MaxAbsDiff(blocked[name], expected):E2} (largest {scale:G3})");
        }

        foreach (var t in inputs.Values.Concat(blocked.Values).Concat(kept.Values)) t.Dispose();
    }

    [TestMethod]
    public void ALearnedBxKeepsEveryMemory()
    {
        // dL/dBx pairs each step's memory gradient with r_t, which the blocks keep, but through the whole memory's
        // share of r: the pass must keep the memory (and still be right, which the blocked adjoint's tests check).
        var inputs = Inputs(40, withV0: true, withE: true, withU: true);
        inputs["bx"].requires_grad_(true);
        long passes = TwoStageScanLastFunction.BlockedTrainingPasses;
        var gradients = Gradients(inputs);
        Assert.AreEqual(0, TwoStageScanLastFunction.BlockedTrainingPasses - passes, "a learned Bx must keep every memory");
        Assert.IsTrue(gradients.ContainsKey("bx"));
        foreach (var t in inputs.Values.Concat(gradients.Values)) t.Dispose();
    }

    [TestMethod]
    [DataRow(true, DisplayName = "input gradient (a layer inside a stack)")]
    [DataRow(false, DisplayName = "no input gradient (a first layer)")]
    public void LayerGradientsEqualTheCell(bool inputGradient)
    {
        // psMNIST's rnn_cell at a smaller order: hidden-to-memory, memory-to-memory, x into the hidden cell, fixed theta.
        using var layer = ScanCheckpointTests.RecurrentLayer(HiddenCell.SimpleRnn, inputToHidden: true, hiddenToMemory: true, memoryToMemory: true,
            LmuExecutionMode.FusedScan, seed: 71, o => { o.Order = 48; o.HiddenUnits = 6; o.Theta = 41; });
        using var cell = CloneWith(layer, p => p.ExecutionMode = LmuExecutionMode.Cell);
        using var noise = torch.randn([48, 41, 2], dtype: float64, generator: new torch.Generator(73));
        using var third = 0.3.ToScalar();
        using var x = noise.mul(third);
        long passes = TwoStageScanLastFunction.BlockedTrainingPasses;
        var fast = Gradients(layer, x, inputGradient);
        Assert.AreEqual(1, TwoStageScanLastFunction.BlockedTrainingPasses - passes, "the layer's training pass must run in blocks");
        var reference = Gradients(cell, x, inputGradient);
        Assert.AreEqual(reference.Count, fast.Count);
        Assert.IsTrue(reference.Values.All(g => g.abs().max().item<double>() > 1e-3), "every parameter must get a gradient that says something");
        foreach (var (name, expected) in reference)
        {
            double scale = Math.Max(1, expected.abs().max().item<double>());
            Assert.IsTrue(MaxAbsDiff(fast[name], expected) < 1e-9 * scale, $"{name}: differs from the cell by {MaxAbsDiff(fast[name], expected):E2}");
        }

        foreach (var t in fast.Values.Concat(reference.Values)) t.Dispose();
    }

    // A and Bx fixed, as a layer with fixed dynamics passes them; a memory and a batch wide enough for the blocks.
    private static Dictionary<string, Tensor> Inputs(int steps, bool withV0, bool withE, bool withU)
        => TwoStageBlockedBackwardTests.Inputs(steps, withV0, withE, withU, aWantsGradient: false, bxWantsGradient: false, batch: 26, dm: 48);

    private static Dictionary<string, Tensor> Gradients(Dictionary<string, Tensor> inputs) => TwoStageBlockedBackwardTests.Gradients(inputs, checkpoints: false);

    private static Dictionary<string, Tensor> Gradients(LmuLayer layer, Tensor x, bool inputGradient) => TwoStageBlockedBackwardTests.LayerGradients(layer, x, inputGradient);
}
