using Lmu.MLNet.Modules;
using TorchSharp;
using static Lmu.MLNet.Tests.Modules.LayerTestHelpers;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Modules;

/// <summary>
/// The two-stage scan's backward pass over whole chunks of <see cref="TwoStageScanLastFunction.BlockLength"/> steps
/// without the per-step m A^T product (the blocked adjoint), against the step-by-step backward pass, for every input's
/// gradient: the scan's own inputs, where X, V, v0, Bx, E, W, U and s0 all want one (the layer, with a fixed theta,
/// discards dL/dV's and dL/dv0's memory columns and dL/dBx, so its gradient tests cannot see those). float64 to 1e-10
/// relative: the two differ only by reassociated sums over at most 8 powers of A. T = 40 is five whole chunks, 43 adds
/// a shorter last chunk that steps.
/// </summary>
[TestClass]
public sealed class TwoStageBlockedBackwardTests
{
    [TestMethod]
    [DataRow(true, true, true, 40, false, DisplayName = "v0, recurrent encoders, U, every state kept")]
    [DataRow(true, true, true, 43, true, DisplayName = "v0, recurrent encoders, U, checkpoints, a shorter last chunk")]
    [DataRow(false, false, true, 40, false, DisplayName = "no v0, no recurrent encoders")]
    [DataRow(true, true, false, 43, false, DisplayName = "no U (a Dense hidden cell)")]
    public void BlockedAdjointEqualsTheStepsForEveryGradient(bool withV0, bool withE, bool withU, int steps, bool checkpoints)
    {
        var inputs = Inputs(steps, withV0, withE, withU, aWantsGradient: false);
        long chunks = TwoStageScanLastFunction.BlockedBackwardChunks;
        var blocked = Gradients(inputs, checkpoints);
        Assert.AreEqual(steps / TwoStageScanLastFunction.BlockLength, TwoStageScanLastFunction.BlockedBackwardChunks - chunks, "whole chunks must take the blocked adjoint");

        TwoStageScanLastFunction.UseBlockedBackward = false;
        Dictionary<string, Tensor> stepped;
        try
        {
            chunks = TwoStageScanLastFunction.BlockedBackwardChunks;
            stepped = Gradients(inputs, checkpoints);
            Assert.AreEqual(0, TwoStageScanLastFunction.BlockedBackwardChunks - chunks, "the reference must step");
        }
        finally
        {
            TwoStageScanLastFunction.UseBlockedBackward = true;
        }

        Assert.AreEqual(stepped.Count, blocked.Count);
        foreach (var (name, expected) in stepped)
        {
            double scale = Math.Max(1, expected.abs().max().item<double>());
            Assert.IsTrue(MaxAbsDiff(blocked[name], expected) < 1e-10 * scale, $"{name}: differs by {MaxAbsDiff(blocked[name], expected):E2} (largest {scale:G3})");
        }

        foreach (var t in inputs.Values.Concat(blocked.Values).Concat(stepped.Values)) t.Dispose();
    }

    [TestMethod]
    public void Float32BlockedAdjointStaysWithinTheScanTolerance()
    {
        // Training runs in float32: the blocked adjoint there against the float64 steps, 1e-4 relative, as for the
        // float32 blocked inference (sums over at most 8 powers of A reassociated).
        var inputs = Inputs(43, withV0: true, withE: true, withU: true, aWantsGradient: false);
        TwoStageScanLastFunction.UseBlockedBackward = false;
        Dictionary<string, Tensor> reference;
        try
        {
            reference = Gradients(inputs, checkpoints: false);
        }
        finally
        {
            TwoStageScanLastFunction.UseBlockedBackward = true;
        }

        var single = inputs.ToDictionary(p => p.Key, p => p.Value.detach().to(float32).requires_grad_(p.Value.requires_grad));
        long chunks = TwoStageScanLastFunction.BlockedBackwardChunks;
        var blocked = Gradients(single, checkpoints: false);
        Assert.AreEqual(5, TwoStageScanLastFunction.BlockedBackwardChunks - chunks, "the float32 pass must take the blocked adjoint");
        foreach (var (name, expected) in reference)
        {
            using var got = blocked[name].to(float64);
            double scale = Math.Max(1, expected.abs().max().item<double>());
            Assert.IsTrue(MaxAbsDiff(got, expected) < 1e-4 * scale, $"{name}: float32 differs from float64 by {MaxAbsDiff(got, expected):E2} (largest {scale:G3})");
        }

        foreach (var t in inputs.Values.Concat(single.Values).Concat(reference.Values).Concat(blocked.Values)) t.Dispose();
    }

    [TestMethod]
    public void ALearnedAKeepsTheSteps()
    {
        // dL/dA pairs every step's memory gradient with the whole memory: the blocks would have to form it.
        var inputs = Inputs(40, withV0: true, withE: true, withU: true, aWantsGradient: true);
        long chunks = TwoStageScanLastFunction.BlockedBackwardChunks;
        var gradients = Gradients(inputs, checkpoints: false);
        Assert.AreEqual(0, TwoStageScanLastFunction.BlockedBackwardChunks - chunks, "a learned A must step");
        Assert.IsTrue(gradients.ContainsKey("a"));
        foreach (var t in inputs.Values.Concat(gradients.Values)) t.Dispose();
    }

    [TestMethod]
    [DataRow(false, DisplayName = "fixed dynamics")]
    [DataRow(true, DisplayName = "learned B, fixed A")]
    public void LayerGradientsEqualTheCell(bool trainableB)
    {
        // Through the layer: with fixed dynamics it tells the scan that the drive's memory columns are constants (their
        // gradient is not formed); with a learned B they are not, and dL/dB reaches B through them. Euler, so that a
        // learned B leaves Ad constant (ZOH discretises A and B together) and the blocked adjoint still runs; theta = T
        // keeps Euler stable (at theta 7.5 it grows and saturates every tanh).
        using var layer = ScanCheckpointTests.RecurrentLayer(HiddenCell.SimpleRnn, inputToHidden: true, hiddenToMemory: true, memoryToMemory: true,
            LmuExecutionMode.FusedScan, seed: 53, o => { o.Theta = 33; o.TrainableB = trainableB; o.Discretizer = Lmu.MLNet.Maths.LmuDiscretizer.Euler; });
        using var cell = CloneWith(layer, p => p.ExecutionMode = LmuExecutionMode.Cell);
        // Small inputs: a saturated tanh would zero every gradient and the comparison would tell nothing (checked below).
        using var noise = torch.randn([5, 33, 2], dtype: float64, generator: new torch.Generator(59));
        using var tenth = 0.3.ToScalar();
        using var x = noise.mul(tenth);
        long chunks = TwoStageScanLastFunction.BlockedBackwardChunks;
        var fast = LayerGradients(layer, x);
        Assert.AreEqual(4, TwoStageScanLastFunction.BlockedBackwardChunks - chunks, "33 steps: four whole chunks take the blocked adjoint");
        var reference = LayerGradients(cell, x);
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
    internal static Dictionary<string, Tensor> LayerGradients(LmuLayer layer, Tensor x, bool inputGradient = true)
    {
        using var input = x.detach().clone().requires_grad_(inputGradient);
        using (var last = layer.ForwardLast(input))
        using (var weights = torch.randn(last.shape, dtype: float64, generator: new torch.Generator(61)))
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

    // The scan's inputs, each a leaf that wants a gradient (A only if asked, Bx unless told not to), float64. Wider
    // memories and batches let the blocked training form pay (TwoStageBlockedTrainingTests).
    internal static Dictionary<string, Tensor> Inputs(int steps, bool withV0, bool withE, bool withU, bool aWantsGradient, bool bxWantsGradient = true, int batch = 6, int dm = 24)
    {
        var g = new torch.Generator(43);
        const int channels = 3, mem = 2, units = 5;
        using var noise = torch.randn([dm, dm], dtype: float64, generator: g);
        using var eye = torch.eye(dm, dtype: float64);
        using var decay = 0.9.ToScalar();
        using var small = 0.02.ToScalar();
        using var scale = 0.3.ToScalar();
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
        if (withE) inputs["e"] = torch.randn([dm + units, mem], dtype: float64, generator: g).mul(small);
        if (withU) inputs["u"] = torch.randn([units, units], dtype: float64, generator: g).mul(scale);
        foreach (var (name, t) in inputs)
        {
            if ((name != "a" || aWantsGradient) && (name != "bx" || bxWantsGradient)) t.requires_grad_(true);
        }

        return inputs;
    }

    // Every gradient of sum(weights * last state) through TwoStageScanLastFunction, by name.
    internal static Dictionary<string, Tensor> Gradients(Dictionary<string, Tensor> inputs, bool checkpoints)
    {
        foreach (var t in inputs.Values) t.grad?.zero_();
        int interval = TwoStageScanLastFunction.CheckpointInterval;
        long keepAll = LinearScanLastFunction.DefaultKeepAllBytes;
        if (checkpoints) LinearScanLastFunction.DefaultKeepAllBytes = 0;
        try
        {
            using var last = TwoStageScanLastFunction.Apply(inputs["x"], inputs["v"], inputs.GetValueOrDefault("v0"), inputs["a"], inputs.GetValueOrDefault("e"),
                inputs["bx"], inputs["w"], inputs.GetValueOrDefault("u"), inputs["s0"], LmuActivation.Tanh);
            using var weights = torch.randn(last.shape, dtype: float64, generator: new torch.Generator(47));
            using var typed = weights.to(last.dtype);
            using var loss = (last * typed).sum();
            loss.backward();
        }
        finally
        {
            LinearScanLastFunction.DefaultKeepAllBytes = keepAll;
            TwoStageScanLastFunction.CheckpointInterval = interval;
        }

        return inputs.Where(p => p.Value.grad is not null).ToDictionary(p => p.Key, p => p.Value.grad!.clone());
    }
}
