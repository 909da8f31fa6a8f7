using Lmu.MLNet.Modules;
using TorchSharp;
using static Lmu.MLNet.Tests.Modules.LayerTestHelpers;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Modules;

/// <summary>
/// Inference of a feed-forward memory under a Dense cell, last step only, as one product with a kernel folded from the
/// impulse response, the encoder, the Dense kernel and the memory bias's response (<c>LmuLayer.FoldedDenseInference</c>),
/// against the step-by-step cell in float64. Tolerance 1e-10: the forms sum in different orders over at most 40 steps
/// of O(1) values (round-off ~1e-15 relative); a lag read backwards, a missing bias response or a missed x_t term
/// moves the outputs by ~1e-2 or more. The kept kernel must follow the weights (rebuilt after an in-place change,
/// reused otherwise) and survive concurrent callers that replace it.
/// </summary>
[TestClass]
public sealed class FoldedInferenceTests
{
    [TestMethod]
    [DataRow(1, 1, true, true, true, false, 0, DisplayName = "one channel, encoder, memory bias, x_t term (the bench's ff_dense shape)")]
    [DataRow(2, 3, true, true, true, false, 0, DisplayName = "2 channels into 3 memories")]
    [DataRow(3, 2, true, true, false, false, 0, DisplayName = "3 channels into 2 memories, no x_t term")]
    [DataRow(2, 2, false, false, true, false, 0, DisplayName = "no encoder, no memory bias")]
    [DataRow(1, 2, true, true, true, true, 0, DisplayName = "theta, A and B learned")]
    [DataRow(2, 3, true, true, true, false, 9, DisplayName = "impulse response truncated to 9 steps")]
    public void FoldedInferenceEqualsTheCell(int inputSize, int memoryD, bool encoder, bool memoryBias, bool inputToHidden, bool learned, int truncation)
    {
        var o = Options(inputSize, memoryD, encoder, memoryBias, inputToHidden, learned, truncation);
        using var parallel = new LmuLayer(o);
        parallel.to(float64);
        Randomise(parallel, seed: 41);
        using var x = torch.randn([5, 23, inputSize], dtype: float64, generator: new torch.Generator(42));

        long calls = LmuLayer.FoldedInferenceCalls;
        using var folded = Infer(parallel, x);
        Assert.IsGreaterThan(calls, LmuLayer.FoldedInferenceCalls, "the folded path ran");
        using var expected = Reference(parallel, x, truncation);
        Bound.Below(1e-10, MaxAbsDiff(folded, expected), "folded inference against the reference");
        Assert.IsGreaterThan(1e-3, expected.abs().max().item<double>(), "the reference is not zero: the test can tell");
    }

    [TestMethod]
    public void TheKeptKernelFollowsTheWeights()
    {
        using var layer = new LmuLayer(Options(2, 3, true, true, true, false, 0));
        layer.to(float64);
        Randomise(layer, seed: 43);
        using var x = torch.randn([4, 23, 2], dtype: float64, generator: new torch.Generator(44));

        using (var first = Infer(layer, x))
        using (var again = Infer(layer, x))
        {
            Assert.AreEqual(1, layer.FoldedKernelBuilds, "the second call reuses the kernel");
            Assert.AreEqual(0.0, MaxAbsDiff(first, again), "a reused kernel gives the same outputs");
        }

        // An in-place change of any weight the kernel reads (as an optimiser step makes) must be seen.
        foreach (var (name, p) in layer.named_parameters().ToList())
        {
            long builds = layer.FoldedKernelBuilds;
            using (torch.no_grad()) p.add_(torch.full_like(p, 0.05));
            using var changed = Infer(layer, x);
            using var expected = Reference(layer, x, 0);
            Assert.AreEqual(builds + 1, layer.FoldedKernelBuilds, $"rebuilt after {name} changed");
            Bound.Below(1e-10, MaxAbsDiff(changed, expected), $"outputs after {name} changed");
        }

        // Another length is another kernel; going back rebuilds the first (one kernel is kept).
        long before = layer.FoldedKernelBuilds;
        using var longer = torch.randn([4, 31, 2], dtype: float64, generator: new torch.Generator(45));
        using var y31 = Infer(layer, longer);
        using var e31 = Reference(layer, longer, 0);
        Bound.Below(1e-10, MaxAbsDiff(y31, e31), "outputs at another length");
        using var y23 = Infer(layer, x);
        Assert.AreEqual(before + 2, layer.FoldedKernelBuilds, "one kernel per length, the first rebuilt on the way back");
    }

    [TestMethod]
    public void ConcurrentCallersThatReplaceTheKernelAllGetTheirOwn()
    {
        // Threads alternate between two lengths, so each call may replace the kept kernel while another thread is
        // still reading the one it replaced: that one must stay alive until its reader is done. Run beside a thread
        // that collects in a loop, as the soak does. Without the leases this reads freed tensors (an exception from
        // libtorch, wrong outputs or a crash).
        using var layer = new LmuLayer(Options(1, 1, true, true, true, false, 0));
        layer.to(float64);
        Randomise(layer, seed: 46);
        var inputs = new[] { 23, 37 }.Select(t => torch.randn([6, t, 1], dtype: float64, generator: new torch.Generator((ulong)(47 + t))).DetachFromDisposeScope()).ToArray();
        var expected = inputs.Select(x => Reference(layer, x, 0).DetachFromDisposeScope()).ToArray();
        using var stop = new CancellationTokenSource();
        var collector = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        });
        var errors = new System.Collections.Concurrent.ConcurrentBag<string>();
        try
        {
            Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 4 }, worker =>
            {
                for (int i = 0; i < 40; i++)
                {
                    int which = (worker + i) % 2;
                    using var scope = NewDisposeScope();
                    var y = Infer(layer, inputs[which]);
                    double diff = MaxAbsDiff(y, expected[which]);
                    if (!(diff < 1e-10)) errors.Add($"worker {worker} call {i}: off by {diff}");
                }
            });
        }
        finally
        {
            stop.Cancel();
            collector.Wait();
        }
        Assert.IsEmpty(errors, string.Join("; ", errors.Take(3)));
        Assert.IsGreaterThan(2, layer.FoldedKernelBuilds, "the callers did replace the kernel under each other");
        foreach (var t in inputs.Concat(expected)) t.Dispose();
    }

    [TestMethod]
    public void AFoldThatCostsMoreIsNotMade()
    {
        // 3 channels into 1 memory: the folded kernel (k C U = 414 per row) is wider than the unfolded products
        // (min(C, D) k q + D q U = 348), so the layer keeps them, with the same outputs.
        using var layer = new LmuLayer(Options(3, 1, true, true, true, false, 0));
        layer.to(float64);
        Randomise(layer, seed: 49);
        using var x = torch.randn([4, 23, 3], dtype: float64, generator: new torch.Generator(50));
        long calls = LmuLayer.FoldedInferenceCalls;
        using var y = Infer(layer, x);
        Assert.AreEqual(calls, LmuLayer.FoldedInferenceCalls, "not folded");
        using var expected = Reference(layer, x, 0);
        Bound.Below(1e-10, MaxAbsDiff(y, expected), "outputs");
    }

    [TestMethod]
    public void TrainingAndGradientsKeepTheUnfoldedForm()
    {
        using var layer = new LmuLayer(Options(1, 1, true, true, true, false, 0));
        layer.to(float64);
        using var x = torch.randn([3, 23, 1], dtype: float64, generator: new torch.Generator(48));
        long calls = LmuLayer.FoldedInferenceCalls;
        layer.eval();
        using (var withGrad = layer.ForwardLast(x)) Assert.AreEqual(calls, LmuLayer.FoldedInferenceCalls, "a gradient-enabled call is not folded");
        layer.train();
        using (torch.no_grad())
        using (var training = layer.ForwardLast(x))
        {
            Assert.AreEqual(calls, LmuLayer.FoldedInferenceCalls, "a call in training mode (dropout may differ) is not folded");
        }
    }

    private static LmuLayerOptions Options(int inputSize, int memoryD, bool encoder, bool memoryBias, bool inputToHidden, bool learned, int truncation) => new()
    {
        // 6 units against order 12: the fold pays (k C U < min(C, D) k q + D q U) for every row above.
        InputSize = inputSize, MemoryD = memoryD, Order = 12, Theta = 15.5, HiddenCell = HiddenCell.Dense, HiddenUnits = 6,
        InputToHidden = inputToHidden, UseInputEncoder = encoder, UseMemoryBias = memoryBias, ImpulseTruncation = truncation,
        TrainableTheta = learned, TrainableA = learned, TrainableB = learned, Dropout = 0.2,
    };

    private static Tensor Infer(LmuLayer layer, Tensor x)
    {
        layer.eval();
        using var _ = torch.no_grad();
        return layer.ForwardLast(x);
    }

    // The cell form with the same weights, step by step. A truncated impulse response is a window: the cell sees the
    // window's steps only.
    private static Tensor Reference(LmuLayer layer, Tensor x, int truncation)
    {
        using var cell = CloneWith(layer, p => { p.ExecutionMode = LmuExecutionMode.Cell; p.ImpulseTruncation = 0; });
        cell.eval();
        using var _ = torch.no_grad();
        long steps = x.shape[1];
        using var window = truncation > 0 ? x.narrow(1, steps - truncation, truncation) : x.alias();
        return cell.ForwardLast(window);
    }
}
