using Lmu.MLNet.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Modules;

/// <summary>
/// The managed per-step loops of the scans (ScanKernel) against the libtorch loops they replace on small states: the
/// output and every input's gradient, through the full-sequence scan and the last-step scan (time-major input, with V
/// and v0, blocked input, checkpointed and kept states), for tanh, ReLU and the identity, with the activation on all
/// or part of the state, odd and even batches, widths that leave vector and scalar remainders, and zero or given
/// initial states. Tolerances: float64 1e-12 (only the products' summation order differs), float32 2e-5 relative to
/// the largest value compared (the same, at float32's 6e-8 ulp over sums of up to 70 terms and 20 steps).
/// </summary>
[TestClass]
public sealed class ScanKernelTests
{
    private const double Float64Tolerance = 1e-12, Float32Tolerance = 2e-5;

    public static IEnumerable<object[]> Shapes =>
    [
        // batch, D, from, activation: widths 3 and 13 (under one vector), 40 (a four-vector tile and one more vector in
        // float32), 70 (tiles, a vector, six scalar columns), odd and even batches.
        [3, 13, 0, LmuActivation.Tanh],
        [4, 40, 0, LmuActivation.Tanh],
        [5, 70, 0, LmuActivation.Tanh],
        [2, 40, 9, LmuActivation.Tanh],
        [3, 37, 5, LmuActivation.Relu],
        [4, 33, 0, LmuActivation.Identity],
        [1, 64, 0, LmuActivation.Tanh],
        [3, 3, 1, LmuActivation.Tanh],                  // narrower than one vector
    ];

    [TestMethod]
    [DynamicData(nameof(Shapes))]
    public void TheFullScanAgreesWithTheLibtorchLoop(int batch, int d, int from, LmuActivation act)
    {
        foreach (var dtype in new[] { float64, float32 })
        {
            Compare(dtype, () =>
            {
                var (c, p, s0) = Operands(batch, d, 20, dtype, zeroStart: false);
                var y = LinearScanFunction.Apply(c, p, s0, from, act);
                return Gradients(y, c, p, s0);
            });
        }
    }

    [TestMethod]
    [DynamicData(nameof(Shapes))]
    public void TheLastStepScanAgreesWithTheLibtorchLoop(int batch, int d, int from, LmuActivation act)
    {
        foreach (var dtype in new[] { float64, float32 })
        {
            foreach (bool checkpointed in new[] { false, true })
            {
                Compare(dtype, () => WithCheckpoints(checkpointed, () =>
                {
                    var (c, p, s0) = Operands(batch, d, 21, dtype, zeroStart: true);
                    var y = LinearScanLastFunction.ApplyDirect(c, null, p, s0, from, act);
                    return Gradients(y, c, p, s0);
                }));
            }
        }
    }

    [TestMethod]
    public void TheLastStepScanWithAnInputProjectionAgrees()
    {
        foreach (var dtype in new[] { float64, float32 })
        {
            Compare(dtype, () =>
            {
                var (_, p, s0) = Operands(3, 24, 17, dtype, zeroStart: false);
                var x = torch.randn(17, 3, 5, dtype: dtype).requires_grad_();
                var v = (torch.randn(5, 24, dtype: dtype) * 0.3).requires_grad_();
                var v0 = (torch.randn(24, dtype: dtype) * 0.1).requires_grad_();
                var y = LinearScanLastFunction.Apply(x, v, v0, p, s0, 4, LmuActivation.Tanh);
                return Gradients(y, x, v, v0, p, s0);
            });
        }
    }

    [TestMethod]
    public void TheBlockedLastStepScanAgrees()
    {
        foreach (var dtype in new[] { float64, float32 })
        {
            Compare(dtype, () =>
            {
                var (_, p, s0) = Operands(3, 24, 1, dtype, zeroStart: true);
                // 19 steps in blocks of 8: the last block's padding steps never enter the scan.
                var blocks = torch.randn(3, 3, 8, 24, dtype: dtype).requires_grad_();
                var y = LinearScanLastFunction.ApplyDirectBlocks(blocks, 19, null, p, s0, 0, LmuActivation.Tanh);
                return Gradients(y, blocks, p);
            });
        }
    }

    [TestMethod]
    public void LargeStatesAndOtherActivationsKeepTheLibtorchLoop()
    {
        var (c, p, s0) = Operands(4, 40, 6, float32, zeroStart: true);
        long before = ScanKernel.Steps;
        using (var y = LinearScanFunction.Apply(c, p, s0, 0, LmuActivation.Sigmoid)) { }
        Assert.AreEqual(before, ScanKernel.Steps, "sigmoid is not in the kernel");
        long limit = ScanKernel.MaxMultiplyAddsPerStep;
        ScanKernel.MaxMultiplyAddsPerStep = 4 * 40 * 40 - 1;
        try
        {
            using var y = LinearScanFunction.Apply(c, p, s0, 0, LmuActivation.Tanh);
            Assert.AreEqual(before, ScanKernel.Steps, "one more multiply-add per step than the limit");
        }
        finally
        {
            ScanKernel.MaxMultiplyAddsPerStep = limit;
        }
        using (var y = LinearScanFunction.Apply(c, p, s0, 0, LmuActivation.Tanh)) { }
        Assert.AreEqual(before + 6, ScanKernel.Steps, "at the limit the kernel runs the 6 steps");
    }

    [TestMethod]
    public void OperandsThatDoNotFitTogetherFailAsTheLibtorchLoopFails()
    {
        // The kernel reads spans by P's shape: an initial state of another width, batch or dtype would be read past its
        // end, so such operands must reach the libtorch loop and its error, whichever way ScanKernel.Enabled is set.
        var c = torch.randn(6, 4, 8);
        var p = torch.randn(8, 8) * 0.1;
        foreach (var s0 in new[] { torch.zeros(4, 7), torch.zeros(1, 8), torch.zeros(5, 8), torch.zeros(4, 8, dtype: float64) })
        {
            long before = ScanKernel.Steps;
            var shape = $"s0 [{string.Join(", ", s0.shape)}] {s0.dtype}";
            var full = Assert.Throws<Exception>(() => LinearScanFunction.Apply(c, p, s0, 0, LmuActivation.Tanh), shape + ", full scan");
            var last = Assert.Throws<Exception>(() => LinearScanLastFunction.ApplyDirect(c, null, p, s0, 0, LmuActivation.Tanh), shape + ", last-step scan");
            // libtorch's own error (the plan was not made), not the kernel's guard below.
            Assert.DoesNotContain("scan kernel", full.Message, shape);
            Assert.DoesNotContain("scan kernel", last.Message, shape);
            Assert.AreEqual(before, ScanKernel.Steps, shape + ": the kernel did not run");
        }

        Assert.IsNull(ScanKernel.Prepare(p, torch.zeros(4, 8), null, spanSteps: 1L << 40, LmuActivation.Tanh, backward: false),
            "buffers past a span's int.MaxValue bytes take the libtorch loop");

        // Behind Prepare, the kernel refuses a buffer its plan does not describe rather than read past it.
        var plan = ScanKernel.Prepare(p, torch.zeros(4, 8), null, 6, LmuActivation.Tanh, backward: false)!;
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => ScanKernel.Forward(plan, torch.zeros(6, 4, 8), torch.zeros(4, 7), 0));
        StringAssert.Contains(e.Message, "plan is [4, 8]");
    }

    [TestMethod]
    public void VanishingGradientsAreFlushedAsTheLibtorchLoopFlushesThem()
    {
        // P = a I with the identity: dy/dc_t = a^(T-1-t), so the flush every 8 steps back zeroes the 9th step back
        // exactly when a^8 is below the threshold (float32 1e-30, float64 1e-280), and no step before it.
        // Run through the full scan (the gradient entering at the last step only), the last-step scan keeping every
        // state, and the last-step scan in chunks of 4 steps (the flush counts steps from the end across chunks).
        foreach (var (dtype, a) in new[] { (float32, 1e-4), (float64, 1e-40) })
        {
            foreach (bool kernel in new[] { true, false })
            {
                foreach (var form in new[] { "full", "last", "last in chunks" })
                {
                    bool was = ScanKernel.Enabled;
                    ScanKernel.Enabled = kernel;
                    try
                    {
                        var g = WithCheckpoints(form == "last in chunks", () =>
                        {
                            using var scope = NewDisposeScope();
                            var c = torch.randn(20, 2, 8, dtype: dtype).requires_grad_();
                            var p = (torch.eye(8, dtype: dtype) * a).requires_grad_();
                            var s0 = torch.zeros(2, 8, dtype: dtype);
                            var y = form == "full"
                                ? LinearScanFunction.Apply(c, p, s0, 8, LmuActivation.Identity).select(0, 19)
                                : LinearScanLastFunction.ApplyDirect(c, null, p, s0, 8, LmuActivation.Identity);
                            y.sum().backward();
                            return Values(c.grad!);
                        });
                        double eighth = g[(20 - 8) * 16], ninth = g[(20 - 9) * 16];
                        string what = $"{dtype}, {form}, kernel {kernel}";
                        Bound.AtMost(1e-6 * Math.Pow(a, 7), Math.Abs(eighth - Math.Pow(a, 7)), $"{what}: 8 steps back, a^7");
                        Assert.AreEqual(0.0, ninth, $"{what}: 9 steps back is flushed to zero (a^8 would be {Math.Pow(a, 8):g3})");
                    }
                    finally
                    {
                        ScanKernel.Enabled = was;
                    }
                }
            }
        }
    }

    private static (Tensor C, Tensor P, Tensor S0) Operands(int batch, int d, int steps, ScalarType dtype, bool zeroStart)
    {
        var c = torch.randn(steps, batch, d, dtype: dtype).requires_grad_();
        var p = (torch.randn(d, d, dtype: dtype) * (0.9 / Math.Sqrt(d))).requires_grad_();
        // The layers pass an expanded zero (stride 0) when the state starts at zero; a given state is a plain tensor.
        var s0 = zeroStart ? torch.zeros(1, d, dtype: dtype).expand(batch, d) : (torch.randn(batch, d, dtype: dtype) * 0.5).requires_grad_();
        return (c, p, s0);
    }

    /// <summary>The output and the gradients of a fixed random projection of it, as float64 arrays.</summary>
    private static double[][] Gradients(Tensor y, params Tensor[] inputs)
    {
        using var weights = torch.randn(y.shape, dtype: y.dtype);
        (y * weights).sum().backward();
        var result = new List<double[]> { Values(y) };
        foreach (var t in inputs) if (t.requires_grad) result.Add(Values(t.grad!));
        return result.ToArray();
    }

    private static double[] Values(Tensor t)
    {
        using var d = t.detach().to(float64).contiguous();
        return d.data<double>().ToArray();
    }

    /// <summary>Runs <paramref name="run"/> with the kernel on and off from the same seed and compares every array.</summary>
    private static void Compare(ScalarType dtype, Func<double[][]> run)
    {
        double[][] Once(bool kernel)
        {
            bool was = ScanKernel.Enabled;
            ScanKernel.Enabled = kernel;
            try
            {
                using var scope = NewDisposeScope();
                torch.manual_seed(7);
                long before = ScanKernel.Steps;
                var result = run();
                if (kernel) Assert.IsGreaterThan(before, ScanKernel.Steps, "the kernel ran");
                else Assert.AreEqual(before, ScanKernel.Steps, "the libtorch loop ran");
                return result;
            }
            finally
            {
                ScanKernel.Enabled = was;
            }
        }

        var withKernel = Once(true);
        var without = Once(false);
        Assert.AreEqual(without.Length, withKernel.Length);
        for (int i = 0; i < without.Length; i++)
        {
            double scale = Math.Max(1, without[i].Max(Math.Abs)), worst = 0;
            Assert.AreEqual(without[i].Length, withKernel[i].Length);
            for (int j = 0; j < without[i].Length; j++) worst = Math.Max(worst, Math.Abs(withKernel[i][j] - without[i][j]));
            Bound.AtMost((dtype == float64 ? Float64Tolerance : Float32Tolerance) * scale, worst, $"{dtype} array {i} (0: output, then the gradients)");
        }
    }

    private static T WithCheckpoints<T>(bool checkpointed, Func<T> run)
    {
        int interval = LinearScanLastFunction.CheckpointInterval;
        long keepAll = LinearScanLastFunction.DefaultKeepAllBytes;
        if (checkpointed)
        {
            LinearScanLastFunction.CheckpointInterval = 4;
            LinearScanLastFunction.DefaultKeepAllBytes = 0;
        }
        try
        {
            return run();
        }
        finally
        {
            LinearScanLastFunction.CheckpointInterval = interval;
            LinearScanLastFunction.DefaultKeepAllBytes = keepAll;
        }
    }
}
