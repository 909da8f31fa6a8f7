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

    // Every parameter's gradient (and dL/dx when wanted) of one pass of sum(weights * last), read and then cleared.
    private static Dictionary<string, Tensor> Gradients(LmuLayer layer, Tensor x, bool inputGradient)
    {
        using var input = x.detach().clone().requires_grad_(inputGradient);
        using (var last = layer.ForwardLast(input))
        using (var weights = torch.randn(last.shape, dtype: float64, generator: new torch.Generator(79)))
        using (var loss = (last * weights).sum())
        {
            loss.backward();
        }

        var result = new Dictionary<string, Tensor>();
        if (inputGradient) result["input"] = input.grad!.clone();
        foreach (var (name, p) in layer.named_parameters())
        {
            if (p.grad is null) continue;
            result[name] = p.grad.clone();
            p.grad.zero_();
        }

        return result;
    }

    // The scan's inputs, float64 leaves; A and Bx fixed (as a layer with fixed dynamics passes them).
    private static Dictionary<string, Tensor> Inputs(int steps, bool withV0, bool withE, bool withU)
    {
        var g = new torch.Generator(83);
        const int batch = 26, channels = 3, mem = 2, dm = 48, units = 5;
        using var noise = torch.randn([dm, dm], dtype: float64, generator: g);
        using var eye = torch.eye(dm, dtype: float64);
        using var decay = 0.9.ToScalar();
        using var small = 0.01.ToScalar();
        using var scale = 0.3.ToScalar();
        using var tiny = 0.02.ToScalar();
        var inputs = new Dictionary<string, Tensor>
        {
            ["x"] = torch.randn([steps, batch, channels], dtype: float64, generator: g),
            ["v"] = torch.randn([channels, dm + units], dtype: float64, generator: g).mul(scale),
            ["a"] = eye.mul(decay).Plus(noise.mul(small)),                                  // stable: spectral radius below 1
            ["bx"] = torch.randn([mem, dm], dtype: float64, generator: g).mul(scale),
            ["w"] = torch.randn([dm, units], dtype: float64, generator: g).mul(scale),
            ["s0"] = torch.randn([batch, dm + units], dtype: float64, generator: g),
        };
        if (withV0) inputs["v0"] = torch.randn([dm + units], dtype: float64, generator: g);
        if (withE) inputs["e"] = torch.randn([dm + units, mem], dtype: float64, generator: g).mul(tiny);
        if (withU) inputs["u"] = torch.randn([units, units], dtype: float64, generator: g).mul(scale);
        foreach (var (name, t) in inputs)
        {
            if (name is not "a" and not "bx") t.requires_grad_(true);
        }

        return inputs;
    }

    // Every gradient of sum(weights * last state) through TwoStageScanLastFunction, by name, every state kept.
    private static Dictionary<string, Tensor> Gradients(Dictionary<string, Tensor> inputs)
    {
        foreach (var t in inputs.Values) t.grad?.zero_();
        using (var last = TwoStageScanLastFunction.Apply(inputs["x"], inputs["v"], inputs.GetValueOrDefault("v0"), inputs["a"], inputs.GetValueOrDefault("e"),
            inputs["bx"], inputs["w"], inputs.GetValueOrDefault("u"), inputs["s0"], LmuActivation.Tanh))
        using (var weights = torch.randn(last.shape, dtype: float64, generator: new torch.Generator(89)))
        using (var loss = (last * weights).sum())
        {
            loss.backward();
        }

        return inputs.Where(p => p.Value.grad is not null).ToDictionary(p => p.Key, p => p.Value.grad!.clone());
    }
}
