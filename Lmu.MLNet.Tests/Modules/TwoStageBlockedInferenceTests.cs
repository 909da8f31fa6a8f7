using Lmu.MLNet.Modules;
using TorchSharp;
using static Lmu.MLNet.Tests.Modules.LayerTestHelpers;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Modules;

/// <summary>
/// Inference of the two-stage last-step scan in blocks of <see cref="TwoStageScanLastFunction.BlockLength"/> (8)
/// steps (the memory formed only at block ends): against the step-by-step cell and against the two-stage steps it
/// replaces. T = 32 is whole blocks, 40 an odd number of them (the last memory ends in the spare buffer), 41 and 70
/// end with a shorter block. Memories of order 32 and more: below that the blocks do not pay and the steps run (tested
/// too). Tolerances: float64 1e-10 (reassociated sums over at most BlockLength powers of A); float32 against the float64
/// cell 1e-4, as for any float32 scan over 100 steps here.
/// </summary>
[TestClass]
public sealed class TwoStageBlockedInferenceTests
{
    [TestMethod]
    [DataRow(HiddenCell.SimpleRnn, false, false, false)]
    [DataRow(HiddenCell.SimpleRnn, true, false, true)]
    [DataRow(HiddenCell.Dense, false, true, true)]
    [DataRow(HiddenCell.SimpleRnn, true, true, false)]
    public void BlocksEqualTheCellForEveryEncoderCombination(HiddenCell cell, bool hiddenToMemory, bool memoryToMemory, bool inputToHidden)
    {
        foreach (var theta in new[] { 7.5, 60 })
        {
            using var reference = ScanCheckpointTests.RecurrentLayer(cell, inputToHidden, hiddenToMemory, memoryToMemory, LmuExecutionMode.Cell, seed: 23,
                o => { o.Order = 32; o.Theta = theta; });
            using var fast = CloneWith(reference, p => p.ExecutionMode = LmuExecutionMode.FusedScan);
            foreach (int steps in new[] { 32, 40, 41, 70 })
            {
                using var x = torch.randn([48, steps, 2], dtype: float64, generator: new torch.Generator(3));
                using var _ = torch.no_grad();
                using var expected = reference.ForwardLast(x);
                long before = TwoStageScanLastFunction.BlockedPasses;
                using var blocked = fast.ForwardLast(x);
                string what = $"{cell}/h2m={hiddenToMemory}/m2m={memoryToMemory}/x2h={inputToHidden}/theta={theta}/T={steps}";
                Assert.AreEqual(1, TwoStageScanLastFunction.BlockedPasses - before, $"{what}: the blocked path was not taken");
                Assert.IsTrue(MaxAbsDiff(blocked, expected) < 1e-10, $"{what}: differs from the cell by {MaxAbsDiff(blocked, expected):E2}");
                using var stepped = WithoutBlocks(() => fast.ForwardLast(x));
                Assert.IsTrue(MaxAbsDiff(stepped, expected) < 1e-10, $"{what}: the step-by-step reference itself is off");
            }
        }
    }

    [TestMethod]
    public void TheKeptPlanFollowsTheWeights()
    {
        // The layer keeps its plan between calls (TwoStageScanLastFunction.PlanCache): reused while the weights stay,
        // formed again (into the stale plan's tensors) after any of them changes in place (an optimiser step), and never
        // stale: each call against the cell with the weights of that moment, 1e-10.
        using var layer = ScanCheckpointTests.RecurrentLayer(HiddenCell.SimpleRnn, true, true, true, LmuExecutionMode.FusedScan, seed: 24,
            o => { o.Order = 32; o.Theta = 20; });
        using var x = torch.randn([48, 41, 2], dtype: float64, generator: new torch.Generator(5));   // batch and length where the blocks pay
        using (var first = InferLast(layer, x))
        using (var again = InferLast(layer, x))
        {
            Assert.AreEqual(1, layer.BlockedPlanBuilds, "the second call reuses the plan");
            Assert.AreEqual(0.0, MaxAbsDiff(first, again), "a reused plan gives the same outputs");
        }

        foreach (var (name, p) in layer.named_parameters().ToList())
        {
            long builds = layer.BlockedPlanBuilds, refills = TwoStageScanLastFunction.BlockedPlan.Refills;
            using (torch.no_grad()) p.add_(torch.full_like(p, 0.02));
            using var changed = InferLast(layer, x);
            using var cell = CloneWith(layer, o => o.ExecutionMode = LmuExecutionMode.Cell);
            using var expected = InferLast(cell, x);
            // Every weight but the hidden recurrence (h U, applied per step outside the plan) is folded into the plan.
            Assert.AreEqual(name == "hidden.W_hh" ? builds : builds + 1, layer.BlockedPlanBuilds, $"plans formed after {name} changed");
            // Nobody else reads the stale plan between these calls, so the new one is formed into its tensors (other
            // tests may refill plans of their own meanwhile: at least one more).
            if (name != "hidden.W_hh") Assert.IsGreaterThan(refills, TwoStageScanLastFunction.BlockedPlan.Refills, $"the plan after {name} changed was not formed into the stale one's tensors");
            Bound.Below(1e-10, MaxAbsDiff(changed, expected), $"outputs after {name} changed");
        }
    }

    private static Tensor InferLast(LmuLayer layer, Tensor x)
    {
        using var _ = torch.no_grad();
        return layer.ForwardLast(x);
    }

    [TestMethod]
    public void Float32BlocksStayWithinTheScanTolerance()
    {
        // psMNIST's rnn_cell in small: memory_d 1, order 64 over theta = T = 100, 24 SimpleRnn units, both recurrent
        // encoders; float32 blocks against the float64 cell, and against float32 steps.
        var o = new LmuLayerOptions
        {
            InputSize = 1, MemoryD = 1, Order = 64, Theta = 100, HiddenCell = HiddenCell.SimpleRnn, HiddenUnits = 24,
            InputToHidden = true, HiddenToMemory = true, MemoryToMemory = true, UseMemoryBias = true,
            ExecutionMode = LmuExecutionMode.Cell,
        };
        using var reference = new LmuLayer(o);
        reference.to(float64);
        Randomise(reference, seed: 29);
        using var fast = CloneWith(reference, p => p.ExecutionMode = LmuExecutionMode.FusedScan);
        fast.to(float32);
        using var x = torch.randn([32, 100, 1], dtype: float64, generator: new torch.Generator(4));
        using var x32 = x.to(float32);
        using var _ = torch.no_grad();
        using var expected = reference.ForwardLast(x);
        long before = TwoStageScanLastFunction.BlockedPasses;
        using var blocked = fast.ForwardLast(x32);
        Assert.AreEqual(1, TwoStageScanLastFunction.BlockedPasses - before, "the blocked path was not taken");
        using var stepped = WithoutBlocks(() => fast.ForwardLast(x32));
        double scale = Math.Max(1, expected.abs().max().item<double>());
        Assert.IsTrue(MaxAbsDiff(blocked, expected) < 1e-4 * scale, $"float32 blocks differ from the float64 cell by {MaxAbsDiff(blocked, expected):E2}");
        Assert.IsTrue(MaxAbsDiff(blocked, stepped) < 1e-4 * scale, $"float32 blocks differ from float32 steps by {MaxAbsDiff(blocked, stepped):E2}");
    }

    [TestMethod]
    [DataRow(true, true, DisplayName = "memory bias in v0, recurrent encoders")]
    [DataRow(false, false, DisplayName = "no v0, no recurrent encoders")]
    [DataRow(true, false, DisplayName = "memory bias in v0, no recurrent encoders")]
    public void TheScanOwnInputsFromANonZeroState(bool withV0, bool withE)
    {
        // The scan's own inputs, which the layer never gives it: a v0 with a non-zero memory part (the layer's is
        // zero there), two memory dimensions, three input channels, a random starting state (a stateful caller's).
        var g = new torch.Generator(41);
        const int steps = 50, batch = 30, channels = 3, mem = 2, dm = 48, units = 5;
        using var x = torch.randn([steps, batch, channels], dtype: float64, generator: g);
        using var v = torch.randn([channels, dm + units], dtype: float64, generator: g);
        using var v0 = withV0 ? torch.randn([dm + units], dtype: float64, generator: g) : null;
        using var noise = torch.randn([dm, dm], dtype: float64, generator: g);
        using var eye = torch.eye(dm, dtype: float64);
        using var decay = 0.9.ToScalar();
        using var small = 0.01.ToScalar();
        using var scale = 0.3.ToScalar();
        using var a = eye.mul(decay).Plus(noise.mul(small));           // spectral radius below 1: a stable memory
        using var tenth = 0.1.ToScalar();
        // The recurrent loop m e_m Bx small against A's 0.9, so the memory stays bounded over 50 steps (checked below).
        using var bx = torch.randn([mem, dm], dtype: float64, generator: g).mul(small);
        using var e = withE ? torch.randn([dm + units, mem], dtype: float64, generator: g).mul(tenth) : null;
        using var w = torch.randn([dm, units], dtype: float64, generator: g).mul(scale);
        using var u = torch.randn([units, units], dtype: float64, generator: g).mul(scale);
        using var s0 = torch.randn([batch, dm + units], dtype: float64, generator: g);
        using var _ = torch.no_grad();
        long before = TwoStageScanLastFunction.BlockedPasses;
        using var blocked = TwoStageScanLastFunction.Apply(x, v, v0, a, e, bx, w, u, s0, LmuActivation.Tanh);
        Assert.AreEqual(1, TwoStageScanLastFunction.BlockedPasses - before, "the blocked path was not taken");
        using var stepped = WithoutBlocks(() => TwoStageScanLastFunction.Apply(x, v, v0, a, e, bx, w, u, s0, LmuActivation.Tanh));
        double size = Math.Max(1, stepped.abs().max().item<double>());
        Assert.IsTrue(size < 1e3, $"the reference state grew to {size:G3}: the comparison would tell little");
        Assert.IsTrue(MaxAbsDiff(blocked, stepped) < 1e-10 * size, $"differs by {MaxAbsDiff(blocked, stepped):E2} (largest value {size:G3})");
    }

    [TestMethod]
    [DataRow(true, true, DisplayName = "input also feeds the hidden cell")]
    [DataRow(false, true, DisplayName = "input feeds the memory only")]
    [DataRow(true, false, DisplayName = "no input encoder (u = x + b_u)")]
    public void InferenceReadsTheRawInputWithTheEncoderFolded(bool inputToHidden, bool inputEncoder)
    {
        // Without a backward pass the scan reads x itself, with e_x and b_u folded into its drive matrix; a pass that
        // keeps gradients, and one with input dropout, encode the input first. Both forms against the cell (float64,
        // 1e-10). InputSize 2 = MemoryD 2, so the fold applies without the input-to-hidden path too.
        using var layer = ScanCheckpointTests.RecurrentLayer(HiddenCell.SimpleRnn, inputToHidden, hiddenToMemory: true, memoryToMemory: true,
            LmuExecutionMode.FusedScan, seed: 13, o => { o.Order = 32; o.Dropout = 0.2; o.UseInputEncoder = inputEncoder; });
        using var cell = CloneWith(layer, p => p.ExecutionMode = LmuExecutionMode.Cell);
        layer.eval();
        cell.eval();
        using var x = torch.randn([40, 41, 2], dtype: float64, generator: new torch.Generator(17));
        Tensor expected;
        using (torch.no_grad()) expected = cell.ForwardLast(x);
        using var _e = expected;

        long folded = LmuLayer.FoldedInputCalls;
        using (torch.no_grad())
        {
            using var inferred = layer.ForwardLast(x);
            Assert.AreEqual(1, LmuLayer.FoldedInputCalls - folded, "inference did not read the raw input");
            Assert.IsTrue(MaxAbsDiff(inferred, expected) < 1e-10, $"folded: differs from the cell by {MaxAbsDiff(inferred, expected):E2}");
        }

        using var input = x.detach().clone().requires_grad_(true);
        folded = LmuLayer.FoldedInputCalls;
        using var withGradients = layer.ForwardLast(input);
        Assert.AreEqual(0, LmuLayer.FoldedInputCalls - folded, "a pass with gradients must encode the input");
        Assert.IsTrue(MaxAbsDiff(withGradients, expected) < 1e-10, $"encoded: differs from the cell by {MaxAbsDiff(withGradients, expected):E2}");

        layer.train();
        folded = LmuLayer.FoldedInputCalls;
        using (torch.no_grad())
        {
            using var dropped = layer.ForwardLast(x);
            Assert.AreEqual(0, LmuLayer.FoldedInputCalls - folded, "with input dropout the memory and the hidden cell read different inputs");
        }
    }

    [TestMethod]
    public void TrainingSmallBatchesSmallMemoriesAndWideInputsKeepTheSteps()
    {
        // A backward pass needs the states the blocks never form; a single row does not pay for the powers, nor does a
        // memory of order 5 for its block-end products, nor 64 input channels for the block-Toeplitz input product.
        using var layer = ScanCheckpointTests.RecurrentLayer(HiddenCell.SimpleRnn, inputToHidden: true, hiddenToMemory: true, memoryToMemory: true,
            LmuExecutionMode.FusedScan, seed: 5, o => o.Order = 32);
        using var small = ScanCheckpointTests.RecurrentLayer(HiddenCell.SimpleRnn, inputToHidden: true, hiddenToMemory: true, memoryToMemory: true,
            LmuExecutionMode.FusedScan, seed: 5);
        using var wide = ScanCheckpointTests.RecurrentLayer(HiddenCell.SimpleRnn, inputToHidden: true, hiddenToMemory: true, memoryToMemory: true,
            LmuExecutionMode.FusedScan, seed: 5, o => { o.Order = 32; o.InputSize = 64; });
        using var x = torch.randn([48, 64, 2], dtype: float64, generator: new torch.Generator(5));
        using var xWide = torch.randn([48, 64, 64], dtype: float64, generator: new torch.Generator(6));
        long before = TwoStageScanLastFunction.BlockedPasses;
        using (var y = layer.ForwardLast(x)) Assert.IsTrue(y.requires_grad, "the layer's parameters should require gradients");
        using (torch.no_grad())
        using (var one = x.narrow(0, 0, 1))
        using (layer.ForwardLast(one))
        using (small.ForwardLast(x))
        using (wide.ForwardLast(xWide))
        {
        }

        Assert.AreEqual(before, TwoStageScanLastFunction.BlockedPasses, "training, a single row, a small memory or wide inputs took the blocked path");
        using (torch.no_grad())
        using (layer.ForwardLast(x))
        {
        }

        Assert.AreEqual(before + 1, TwoStageScanLastFunction.BlockedPasses, "the same layer's batch of 48 should take it (else this test tells nothing)");
    }

    private static Tensor WithoutBlocks(Func<Tensor> run)
    {
        TwoStageScanLastFunction.UseBlocks = false;
        try
        {
            return run();
        }
        finally
        {
            TwoStageScanLastFunction.UseBlocks = true;
        }
    }
}
