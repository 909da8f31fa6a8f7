using Lmu.MLNet.Modules;
using TorchSharp;
using static Lmu.MLNet.Tests.Modules.LayerTestHelpers;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Modules;

/// <summary>
/// The last-step scans: the fused one that recomputes its states from checkpoints (<see cref="LinearScanLastFunction"/>)
/// and the two-stage one (<see cref="TwoStageScanLastFunction"/>, memory then hidden): against the
/// step-by-step cell (outputs and every gradient), against itself keeping every state (no recomputation), and
/// against float64 central differences. T = 17 with k = 4 gives four full chunks and a one-step chunk. Tolerances as in
/// <see cref="EquivalenceTests"/>: float64 1e-9, float32 1e-5; central differences (h = 1e-6) 1e-6.
/// </summary>
[TestClass]
public sealed class ScanCheckpointTests
{
    [TestMethod]
    [DataRow(HiddenCell.SimpleRnn, true)]
    [DataRow(HiddenCell.Dense, true)]
    [DataRow(HiddenCell.None, true)]
    [DataRow(HiddenCell.SimpleRnn, false)]
    public void LastStepFromCheckpointsEqualsCell(HiddenCell cell, bool recurrentMemory)
    {
        foreach (var dtype in new[] { float64, float32 })
        {
            double tol = dtype == float64 ? 1e-9 : 1e-5;
            var o = EquivalenceTests.Options(cell, inputToHidden: cell != HiddenCell.None, memoryD: 2);
            o.HiddenToMemory = recurrentMemory && cell != HiddenCell.None;
            o.MemoryToMemory = recurrentMemory;
            o.ExecutionMode = LmuExecutionMode.Cell;
            using var reference = new LmuLayer(o);
            reference.to(dtype);
            Randomise(reference, seed: 13);
            // Recurrent memory: the fused scan; feed-forward memory with SimpleRnn: the parallel form's hidden scan.
            using var fast = CloneWith(reference, p => p.ExecutionMode = recurrentMemory ? LmuExecutionMode.FusedScan : LmuExecutionMode.Parallel);
            foreach (int k in new[] { 4, 0 })
            {
                // With a hidden cell and a recurrent memory the two-stage scan takes the step (when on); off, the fused one.
                foreach (bool twoStage in new[] { true, false })
                {
                    var before = LmuLayer.TwoStageCalls;
                    LmuLayer.TwoStageScan = twoStage;
                    try
                    {
                        WithInterval(k, () => CompareLast(reference, fast, EquivalenceTests.Input(dtype, seed: 5), tol, $"{cell}/{recurrentMemory}/{dtype}/k={k}/twoStage={twoStage}"));
                    }
                    finally
                    {
                        LmuLayer.TwoStageScan = true;
                    }

                    // The test forces checkpoints for k > 0 (KeepAllBytes 0): both last-step scans recompute from them.
                    bool expected = twoStage && recurrentMemory && cell != HiddenCell.None;
                    Assert.AreEqual(expected, LmuLayer.TwoStageCalls > before, $"{cell}/{recurrentMemory}/{dtype}/k={k}: two-stage path taken");
                }
            }
        }
    }

    [TestMethod]
    [DataRow(HiddenCell.SimpleRnn, false, false, false)]
    [DataRow(HiddenCell.SimpleRnn, true, false, true)]
    [DataRow(HiddenCell.Dense, false, true, true)]
    [DataRow(HiddenCell.SimpleRnn, true, true, false)]
    public void TwoStageEqualsCellForEveryEncoderCombination(HiddenCell cell, bool hiddenToMemory, bool memoryToMemory, bool inputToHidden)
    {
        // Which recurrent encoders exist decides E (absent, e_h only, e_m only, both); the feed-forward case is forced
        // into the fused form, where E is absent. The cell is the reference; the two-stage form must be the one taken.
        using var reference = RecurrentLayer(cell, inputToHidden, hiddenToMemory, memoryToMemory, LmuExecutionMode.Cell, seed: 19);
        using var fast = CloneWith(reference, p => p.ExecutionMode = LmuExecutionMode.FusedScan);
        var before = LmuLayer.TwoStageCalls;
        WithInterval(0, () => CompareLast(reference, fast, EquivalenceTests.Input(float64, seed: 7), 1e-9, $"{cell}/h2m={hiddenToMemory}/m2m={memoryToMemory}/x2h={inputToHidden}"));
        Assert.IsTrue(LmuLayer.TwoStageCalls > before, "the two-stage path was not taken");

        // The backward pass folds the weight gradients in chunks of 8 steps, and without a backward pass the forward
        // pass runs in chunks of 4 steps handing their state over: T = 70 ends in a short chunk either way (6, 2).
        var x = torch.randn([3, 70, 2], dtype: float64, generator: new torch.Generator(4));
        WithInterval(0, () => CompareLast(reference, fast, x, 1e-9, $"{cell}/h2m={hiddenToMemory}/m2m={memoryToMemory}/x2h={inputToHidden}/T=70"));
        // T = 33: a one-step chunk last in time (first in the backward pass).
        var x33 = torch.randn([3, 33, 2], dtype: float64, generator: new torch.Generator(9));
        WithInterval(0, () => CompareLast(reference, fast, x33, 1e-9, $"{cell}/h2m={hiddenToMemory}/m2m={memoryToMemory}/x2h={inputToHidden}/T=33"));
        // An input that needs no gradient (the first layer): the backward pass skips dL/dX and, theta being fixed here,
        // dL/dA and dL/dBx; the weights' gradients must not change.
        WithInterval(0, () => CompareLast(reference, fast, x33, 1e-9, $"{cell}/h2m={hiddenToMemory}/m2m={memoryToMemory}/x2h={inputToHidden}/no input gradient", inputGradient: false));
        // States recomputed from checkpoints: every 5 steps at T = 70 (14 chunks), every 32 at T = 70 (32 + 32 + 6:
        // longer chunks than the kept states' backward pass uses), every 4 at T = 33 (a one-step chunk first backwards).
        long checkpointed = TwoStageScanLastFunction.CheckpointedPasses;
        WithInterval(5, () => CompareLast(reference, fast, x, 1e-9, $"{cell}/h2m={hiddenToMemory}/m2m={memoryToMemory}/x2h={inputToHidden}/T=70/checkpoints every 5"));
        WithInterval(32, () => CompareLast(reference, fast, x, 1e-9, $"{cell}/h2m={hiddenToMemory}/m2m={memoryToMemory}/x2h={inputToHidden}/T=70/checkpoints every 32"));
        WithInterval(4, () => CompareLast(reference, fast, x33, 1e-9, $"{cell}/h2m={hiddenToMemory}/m2m={memoryToMemory}/x2h={inputToHidden}/T=33/checkpoints every 4/no input gradient", inputGradient: false));
        Assert.AreEqual(3, TwoStageScanLastFunction.CheckpointedPasses - checkpointed, "the checkpointed two-stage passes did not all run");
        using var _ = torch.no_grad();
        before = LmuLayer.TwoStageCalls;
        double diff = MaxAbsDiff(reference.ForwardLast(x), fast.ForwardLast(x));
        Assert.IsTrue(LmuLayer.TwoStageCalls > before, "the two-stage path was not taken without gradients");
        Assert.IsTrue(diff < 1e-9, $"inference over three chunks differs from the cell by {diff:E2}");
    }

    [TestMethod]
    [DataRow(true)]
    [DataRow(false)]
    public void ParallelLastRnnEqualsCell(bool inputToHidden)
    {
        // No memory bias, input without gradient: the time-major path with the convolution built in row chunks.
        long before = LmuLayer.ConvolutionChunkBytes;
        try
        {
            foreach (var dtype in new[] { float64, float32 })
            {
                double tol = dtype == float64 ? 1e-9 : 1e-5;
                var o = EquivalenceTests.Options(HiddenCell.SimpleRnn, inputToHidden, memoryD: 2);
                o.UseMemoryBias = false;
                o.ExecutionMode = LmuExecutionMode.Cell;
                using var reference = new LmuLayer(o);
                reference.to(dtype);
                Randomise(reference, seed: 17);
                using var fast = CloneWith(reference, p => p.ExecutionMode = LmuExecutionMode.Parallel);
                foreach (long chunkBytes in new[] { 1L, 1L << 30 })
                {
                    LmuLayer.ConvolutionChunkBytes = chunkBytes;
                    long calls = LmuLayer.ParallelLastRnnCalls;
                    WithBlocks(0, () => CompareLast(reference, fast, EquivalenceTests.Input(dtype, seed: 6), tol, $"{inputToHidden}/{dtype}/{chunkBytes}", inputGradient: false));
                    Assert.IsTrue(LmuLayer.ParallelLastRnnCalls > calls, "the time-major last-step path was not taken");
                }

                // The blocked projection (no FFT): T = 17 in blocks of 4 (four full blocks and a padded one), of 16 (the
                // default: a full block and a padded one) and of 17 (one); the 70-step row below crosses 32-step blocks.
                foreach (int block in new[] { 4, 16, 17 })
                {
                    long blocked = LmuLayer.BlockedCalls;
                    WithBlocks(block, () => CompareLast(reference, fast, EquivalenceTests.Input(dtype, seed: 6), tol, $"{inputToHidden}/{dtype}/blocks of {block}", inputGradient: false));
                    Assert.IsTrue(LmuLayer.BlockedCalls > blocked, $"blocks of {block}: the blocked projection was not taken");
                }

                // The scan reads the blocks in its own chunks (32 steps when it keeps every state, the checkpoint
                // interval otherwise): aligned (blocks of 32, 16), misaligned (17 against 32, and 17 against checkpoints
                // every 5 steps, which also recomputes the states from the blocks).
                var x70 = torch.randn([3, 70, 2], dtype: dtype, generator: new torch.Generator(12));
                foreach (int block in new[] { 32, 16, 17 })
                {
                    WithBlocks(block, () => CompareLast(reference, fast, x70, tol, $"{inputToHidden}/{dtype}/T=70/blocks of {block}", inputGradient: false));
                }
                WithBlocks(17, () => WithInterval(5, () => CompareLast(reference, fast, x70, tol, $"{inputToHidden}/{dtype}/T=70/blocks of 17/checkpoints every 5", inputGradient: false)));
            }
        }
        finally
        {
            LmuLayer.ConvolutionChunkBytes = before;
        }
    }

    [TestMethod]
    public void ParallelLastRnnDropsOutOnlyWhatTheMemoryEncodes()
    {
        // Input dropout applies to x_t before it is encoded into the memory; the hidden cell's x_t term reads the raw
        // input in every form. Same seed before each forward, so both forms draw the same dropout mask.
        var o = EquivalenceTests.Options(HiddenCell.SimpleRnn, inputToHidden: true, memoryD: 2);
        o.UseMemoryBias = false;
        o.Dropout = 0.4;
        o.ExecutionMode = LmuExecutionMode.Cell;
        using var reference = new LmuLayer(o);
        reference.to(float64);
        Randomise(reference, seed: 23);
        using var fast = CloneWith(reference, p => p.ExecutionMode = LmuExecutionMode.Parallel);
        reference.train();
        fast.train();
        var x = EquivalenceTests.Input(float64, seed: 8);
        long calls = LmuLayer.ParallelLastRnnCalls;
        torch.manual_seed(5);
        var got = fast.ForwardLast(x);
        Assert.IsTrue(LmuLayer.ParallelLastRnnCalls > calls, "the time-major last-step path was not taken");
        torch.manual_seed(5);
        var expected = reference.ForwardLast(x);
        torch.manual_seed(6);
        Assert.IsTrue(MaxAbsDiff(reference.ForwardLast(x), expected) > 1e-6, "dropout changed nothing: the test cannot tell");
        Assert.IsTrue(MaxAbsDiff(expected, got) < 1e-9, "train-mode last step with input dropout: parallel vs cell");
    }

    [TestMethod]
    public void CheckpointedGradientsEqualKeepingEveryState()
    {
        var (x, v, v0, p, s0) = Operands(float64, seed: 3, steps: 33, batch: 5, channels: 3, d: 9);
        var every = Gradients(x, v, v0, p, s0, interval: 0);
        // Without a backward pass nothing is kept and T = 33 runs as two chunks handing their state over.
        using (torch.no_grad())
        {
            var inference = LinearScanLastFunction.Apply(x, v, v0, p, s0, 2, LmuActivation.Tanh);
            var leaves = new[] { x, v, v0, p, s0 }.Select(t => t.detach().clone().requires_grad_(true)).ToArray();
            using var enabled = torch.enable_grad();
            WithInterval(0, () => Assert.IsTrue(MaxAbsDiff(inference, LinearScanLastFunction.Apply(leaves[0], leaves[1], leaves[2], leaves[3], leaves[4], 2, LmuActivation.Tanh)) < 1e-12, "inference"));
        }
        foreach (int k in new[] { 1, 4, 8, 32, 33, 100 })
        {
            var chunked = Gradients(x, v, v0, p, s0, interval: k);
            for (int i = 0; i < every.Length; i++)
                Assert.IsTrue(MaxAbsDiff(every[i], chunked[i]) < 1e-12, $"k={k}: gradient {i} differs by {MaxAbsDiff(every[i], chunked[i]):E2}");
        }
    }

    [TestMethod]
    [DataRow(HiddenCell.SimpleRnn, true)]
    [DataRow(HiddenCell.Dense, false)]
    public void TwoStageCheckpointedGradientsEqualKeepingEveryState(HiddenCell cell, bool hiddenToMemory)
    {
        // The recomputation repeats the forward pass's operations from the same checkpoint: the gradients may differ
        // only by the rounding of c = X V formed per chunk instead of for all steps at once (1e-12 in float64).
        using var layer = RecurrentLayer(cell, inputToHidden: true, hiddenToMemory, memoryToMemory: true, LmuExecutionMode.FusedScan, seed: 23);
        var x = torch.randn([3, 41, 2], dtype: float64, generator: new torch.Generator(6));
        var every = WithGradients(layer, x, interval: 0);
        foreach (int k in new[] { 1, 3, 8, 40 })
        {
            long checkpointed = TwoStageScanLastFunction.CheckpointedPasses;
            var chunked = WithGradients(layer, x, interval: k);
            Assert.AreEqual(1, TwoStageScanLastFunction.CheckpointedPasses - checkpointed, $"k={k}: no checkpointed pass");
            foreach (var (name, g) in every)
                Assert.IsTrue(MaxAbsDiff(g, chunked[name]) < 1e-12, $"k={k}: {name} differs by {MaxAbsDiff(g, chunked[name]):E2}");
        }
    }

    /// <summary>A float64 layer with memory D 2, the given connections and mode, and randomised weights; <paramref name="change"/> may alter the rest.</summary>
    internal static LmuLayer RecurrentLayer(HiddenCell cell, bool inputToHidden, bool hiddenToMemory, bool memoryToMemory, LmuExecutionMode mode, int seed, Action<LmuLayerOptions>? change = null)
    {
        var o = EquivalenceTests.Options(cell, inputToHidden, memoryD: 2);
        o.HiddenToMemory = hiddenToMemory;
        o.MemoryToMemory = memoryToMemory;
        o.ExecutionMode = mode;
        change?.Invoke(o);
        var layer = new LmuLayer(o);
        layer.to(float64);
        Randomise(layer, seed);
        return layer;
    }

    /// <summary>The output, dL/dX and every parameter's gradient of one pass of sum(w * last) under checkpoints every k.</summary>
    private static Dictionary<string, Tensor> WithGradients(LmuLayer layer, Tensor x, int interval)
    {
        var input = x.detach().clone().requires_grad_(true);
        var result = new Dictionary<string, Tensor>();
        WithInterval(interval, () =>
        {
            var y = layer.ForwardLast(input);
            var w = torch.randn(y.shape, dtype: y.dtype, generator: new torch.Generator(31));
            (y * w).sum().backward();
            result["output"] = y.detach().clone();
        });
        result["input"] = input.grad!.clone();
        foreach (var (name, p) in layer.named_parameters())
        {
            result[name] = p.grad!.clone();
            p.grad.zero_();
        }

        return result;
    }

    [TestMethod]
    public void GradientsMatchCentralDifferences()
    {
        foreach (bool direct in new[] { false, true })
        {
            var (x, v, v0, p, s0) = Operands(float64, seed: 8, steps: 9, batch: 3, channels: direct ? 6 : 2, d: 6);
            var analytic = Gradients(x, direct ? null : v, v0, p, s0, interval: 2);
            var inputs = new[] { x, p, s0, direct ? null : v, v0 };
            for (int i = 0; i < inputs.Length; i++)
            {
                if (inputs[i] is null) continue;
                var numeric = CentralDifference(inputs[i]!, () => Loss(x, direct ? null : v, v0, p, s0, 2));
                double scale = Math.Max(1, numeric.abs().max().item<double>());
                Assert.IsTrue(MaxAbsDiff(analytic[i], numeric) < 1e-6 * scale, $"direct={direct}, input {i}: {MaxAbsDiff(analytic[i], numeric):E2}");
            }
        }
    }

    private static void CompareLast(LmuLayer a, LmuLayer b, Tensor x, double tol, string what, bool inputGradient = true)
    {
        var xa = x.detach().clone().requires_grad_(inputGradient);
        var xb = x.detach().clone().requires_grad_(inputGradient);
        var ya = a.ForwardLast(xa);
        var yb = b.ForwardLast(xb);
        Assert.IsTrue(MaxAbsDiff(ya, yb) < tol, $"{what}: outputs differ by {MaxAbsDiff(ya, yb):E2}");
        var w = torch.randn(ya.shape, dtype: ya.dtype, generator: new torch.Generator(99));
        (ya * w).sum().backward();
        (yb * w).sum().backward();
        if (inputGradient)
            Assert.IsTrue(MaxAbsDiff(xa.grad!, xb.grad!) < tol * 10, $"{what}: input gradients differ by {MaxAbsDiff(xa.grad!, xb.grad!):E2}");
        var gb = b.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad);
        foreach (var (name, p) in a.named_parameters())
        {
            Assert.IsNotNull(p.grad, $"{what}: no gradient for {name} in the reference");
            Assert.IsNotNull(gb[name], $"{what}: no gradient for {name}");
            double scale = Math.Max(1, p.grad.abs().max().to(float64).item<double>());
            Assert.IsTrue(MaxAbsDiff(p.grad, gb[name]!) < tol * 10 * scale, $"{what}: gradient of {name} differs by {MaxAbsDiff(p.grad, gb[name]!):E2}");
            p.grad.zero_();
            gb[name]!.zero_();
        }
    }

    private static (Tensor X, Tensor V, Tensor V0, Tensor P, Tensor S0) Operands(ScalarType dtype, long seed, int steps, int batch, int channels, int d)
    {
        var g = new torch.Generator((ulong)seed);
        // P scaled so that the linear part neither explodes nor vanishes over the steps.
        return (torch.randn([steps, batch, channels], dtype: dtype, generator: g),
            torch.randn([channels, d], dtype: dtype, generator: g),
            torch.randn([d], dtype: dtype, generator: g),
            torch.randn([d, d], dtype: dtype, generator: g) / Math.Sqrt(d),
            torch.randn([batch, d], dtype: dtype, generator: g));
    }

    /// <summary>sum(w * last state) with the first two state entries linear and the rest tanh.</summary>
    private static Tensor Loss(Tensor x, Tensor? v, Tensor v0, Tensor p, Tensor s0, int interval)
    {
        Tensor last = null!;
        WithInterval(interval, () => last = v is null
            ? LinearScanLastFunction.ApplyDirect(x, v0, p, s0, 2, LmuActivation.Tanh)
            : LinearScanLastFunction.Apply(x, v, v0, p, s0, 2, LmuActivation.Tanh));
        var w = torch.linspace(-1, 1, last.numel(), dtype: last.dtype).view(last.shape);
        return (last * w).sum();
    }

    /// <summary>Gradients for X, P, s0, V (zeros when absent) and v0.</summary>
    private static Tensor[] Gradients(Tensor x, Tensor? v, Tensor v0, Tensor p, Tensor s0, int interval)
    {
        var leaves = new[] { x, p, s0, v ?? torch.zeros(1), v0 }.Select(t => t.detach().clone().requires_grad_(true)).ToArray();
        Loss(leaves[0], v is null ? null : leaves[3], leaves[4], leaves[1], leaves[2], interval).backward();
        return leaves.Select(t => t.grad ?? torch.zeros_like(t)).ToArray();
    }

    private static Tensor CentralDifference(Tensor input, Func<Tensor> loss)
    {
        const double h = 1e-6;
        using var _ = torch.no_grad();
        var flat = input.view(-1);
        var result = torch.zeros_like(flat);
        for (long i = 0; i < flat.numel(); i++)
        {
            double original = flat[i].item<double>();
            flat[i] = torch.tensor(original + h, dtype: input.dtype);
            double up = loss().item<double>();
            flat[i] = torch.tensor(original - h, dtype: input.dtype);
            double down = loss().item<double>();
            flat[i] = torch.tensor(original, dtype: input.dtype);
            result[i] = torch.tensor((up - down) / (2 * h), dtype: input.dtype);
        }
        return result.view(input.shape);
    }

    /// <summary>Runs both last-step scans with checkpoints every k steps whatever the size (k = 0: every state kept).</summary>
    private static void WithInterval(int k, Action action)
    {
        int before = LinearScanLastFunction.CheckpointInterval, twoStageBefore = TwoStageScanLastFunction.CheckpointInterval;
        long keepAll = LinearScanLastFunction.DefaultKeepAllBytes;
        LinearScanLastFunction.CheckpointInterval = k;
        TwoStageScanLastFunction.CheckpointInterval = k;
        LinearScanLastFunction.DefaultKeepAllBytes = 0;
        try { action(); }
        finally
        {
            LinearScanLastFunction.CheckpointInterval = before;
            TwoStageScanLastFunction.CheckpointInterval = twoStageBefore;
            LinearScanLastFunction.DefaultKeepAllBytes = keepAll;
        }
    }
}
