using Lmu.MLNet.Modules;
using TorchSharp;
using static Lmu.MLNet.Tests.Modules.LayerTestHelpers;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Modules;

/// <summary>
/// Every fast form against the step-by-step cell, outputs and gradients. Tolerances: float64 1e-9 (different
/// summation orders, FFT round-off ~1e-13 relative on O(1) values over T &lt;= 40 steps); float32 1e-5 (the same with
/// float32's 6e-8 unit round-off, amplified by T and the FFT length).
/// </summary>
[TestClass]
public sealed class EquivalenceTests
{
    public static IEnumerable<object[]> FeedForwardConfigs()
    {
        foreach (var cell in Enum.GetValues<HiddenCell>())
            foreach (var conv in new[] { ParallelConvolution.Fft, ParallelConvolution.Direct })
            {
                yield return [cell, conv, false, 1, 4];
                yield return [cell, conv, true, 3, 4];
                // One hidden unit over more channels than memories (the projected convolution): the FFT form lost
                // the unit axis to a squeeze (found by QA).
                yield return [cell, conv, true, 1, 1];
            }
    }

    [TestMethod]
    [DynamicData(nameof(FeedForwardConfigs))]
    public void ParallelEqualsCell(HiddenCell cell, ParallelConvolution conv, bool inputToHidden, int memoryD, int hiddenUnits)
    {
        foreach (var dtype in new[] { float64, float32 })
        {
            double tol = dtype == float64 ? 1e-9 : 1e-5;
            using var cellLayer = Build(cell, inputToHidden, memoryD, recurrentMemory: false, LmuExecutionMode.Cell, dtype, hiddenUnits);
            using var par = CloneWith(cellLayer, o => { o.ExecutionMode = LmuExecutionMode.Parallel; o.Convolution = conv; });
            var x = Input(dtype, seed: 3);
            // The FFT form with the blocked projection off, then on in blocks of 4 (T = 17: four blocks and a padded
            // one) and of 16 (the default: a block and a padded one). It applies where the raw input is convolved
            // (memoryD 3) and needs no gradient (a first layer), so those runs compare the parameters' gradients only;
            // with an input gradient (a layer of a stack) it must step aside, and the input's gradient must be right.
            foreach (var (block, inputGradient) in new[] { (0, true), (4, false), (16, false), (4, true) })
            {
                if (block > 0 && conv != ParallelConvolution.Fft) continue;
                long calls = LmuLayer.BlockedCalls;
                string what = $"{cell}/{conv}/{dtype}/blocks of {block}/input gradient {inputGradient}";
                WithBlocks(block, () => CompareOutputsAndGradients(cellLayer, par, x, tol, what, inputGradient));
                bool expected = block > 0 && !inputGradient && memoryD >= 2 && cell is not HiddenCell.None;
                Assert.AreEqual(expected, LmuLayer.BlockedCalls > calls, $"{what}: blocked projection taken");
            }
            using var _ = torch.no_grad();
            // The last-step shortcut (one product with the impulse response) too.
            Assert.IsTrue(MaxAbsDiff(cellLayer.ForwardLast(x), par.ForwardLast(x)) < tol, "last step");
        }
    }

    [TestMethod]
    public void BlockedProjectionStepsAsideWhenItsOperatorWouldCostMore()
    {
        // One row of 8 steps against order 64 and 64 units: building the [q, L*units] operator (L*q^2*units) would cost
        // more than the FFT it replaces, so the FFT runs; with 100 rows of 64 steps the blocked projection runs.
        var o = new LmuLayerOptions { InputSize = 1, MemoryD = 1, Order = 64, Theta = 8, HiddenCell = HiddenCell.SimpleRnn, HiddenUnits = 64 };
        using var layer = new LmuLayer(o);
        using var _ = torch.no_grad();
        long calls = LmuLayer.BlockedCalls;
        layer.ForwardLast(torch.randn([1, 8, 1], generator: new torch.Generator(3)));
        Assert.AreEqual(calls, LmuLayer.BlockedCalls, "a one-row batch took the blocked projection");
        layer.ForwardLast(torch.randn([100, 64, 1], generator: new torch.Generator(4)));
        Assert.IsTrue(LmuLayer.BlockedCalls > calls, "a 100-row batch of 64 steps did not take the blocked projection");
    }

    [TestMethod]
    [DataRow(HiddenCell.None, false, true)]
    [DataRow(HiddenCell.Dense, true, true)]
    [DataRow(HiddenCell.Dense, false, true)]
    [DataRow(HiddenCell.SimpleRnn, true, true)]
    [DataRow(HiddenCell.SimpleRnn, true, false)]
    [DataRow(HiddenCell.SimpleRnn, false, true)]
    public void FusedScanEqualsCellWithRecurrentMemory(HiddenCell cell, bool hiddenToMemory, bool memoryToMemory)
    {
        foreach (var dtype in new[] { float64, float32 })
        {
            double tol = dtype == float64 ? 1e-9 : 1e-5;
            var o = Options(cell, inputToHidden: true, memoryD: 2);
            o.HiddenToMemory = hiddenToMemory && cell != HiddenCell.None;
            o.MemoryToMemory = memoryToMemory;
            o.ExecutionMode = LmuExecutionMode.Cell;
            using var reference = new LmuLayer(o);
            reference.to(dtype);
            Randomise(reference, seed: 11);
            using var fused = CloneWith(reference, p => p.ExecutionMode = LmuExecutionMode.FusedScan);
            CompareOutputsAndGradients(reference, fused, Input(dtype, seed: 5), tol, $"{cell}/{dtype}");
        }
    }

    [TestMethod]
    public void MultiChannelMemoryEqualsSingleChannelMemories()
    {
        // memory_d = 3 without encoder: channel k of the input drives memory channel k only.
        var o = new LmuLayerOptions { InputSize = 3, MemoryD = 3, Order = 6, Theta = 9, UseInputEncoder = false, HiddenCell = HiddenCell.None };
        using var multi = new LmuLayer(o);
        multi.to(float64);
        var x = Input(float64, seed: 9, channels: 3);
        using var _ = torch.no_grad();
        var ym = multi.forward(x);                                        // [B, T, 3*6]
        for (int k = 0; k < 3; k++)
        {
            using var single = new LmuLayer(new LmuLayerOptions { InputSize = 1, MemoryD = 1, Order = 6, Theta = 9, UseInputEncoder = false, HiddenCell = HiddenCell.None });
            single.to(float64);
            var ys = single.forward(x.narrow(2, k, 1));
            Assert.IsTrue(MaxAbsDiff(ym.narrow(2, k * 6, 6), ys) < 1e-12, $"channel {k}");
        }
    }

    [TestMethod]
    public void VariableLengthRowsEqualRowsRunAlone()
    {
        foreach (var mode in new[] { LmuExecutionMode.Parallel, LmuExecutionMode.FusedScan, LmuExecutionMode.Cell })
        {
            using var layer = Build(HiddenCell.SimpleRnn, true, 2, recurrentMemory: false, mode, float64);
            var x = Input(float64, seed: 21);
            var lengths = torch.tensor(new long[] { 17, 4, 17, 1 });
            using var _ = torch.no_grad();
            var last = layer.ForwardLast(x, lengths);
            for (int b = 0; b < 4; b++)
            {
                long len = lengths[b].item<long>();
                var alone = layer.ForwardLast(x.narrow(0, b, 1).narrow(1, 0, len));
                Assert.IsTrue(MaxAbsDiff(last[b], alone.squeeze(0)) < 1e-10, $"{mode} row {b}");
            }
        }
    }

    [TestMethod]
    public void MaskGivesTheSameLengths()
    {
        var mask = torch.tensor(new bool[] { true, true, false, true, false, false }, [2, 3]);
        var lengths = LmuLayer.LengthsFromMask(mask);
        CollectionAssert.AreEqual(new long[] { 2, 1 }, lengths.data<long>().ToArray());
        var bad = torch.tensor(new bool[] { true, false, true }, [1, 3]);
        Assert.ThrowsExactly<ArgumentException>(() => LmuLayer.LengthsFromMask(bad));
    }

    [TestMethod]
    public void StreamingInChunksEqualsOnePass()
    {
        foreach (var mode in new[] { LmuExecutionMode.FusedScan, LmuExecutionMode.Cell })
        {
            var o = Options(mode == LmuExecutionMode.Cell ? HiddenCell.Lstm : HiddenCell.SimpleRnn, true, 2);
            o.HiddenToMemory = true;
            o.MemoryToMemory = true;
            o.ExecutionMode = mode;
            using var layer = new LmuLayer(o);
            layer.to(float64);
            Randomise(layer, 4);
            var x = Input(float64, seed: 2);
            using var _ = torch.no_grad();
            var (whole, endState) = layer.forward(x, null);
            var (a, s1) = layer.forward(x.narrow(1, 0, 7), null);
            var (b, s2) = layer.forward(x.narrow(1, 7, x.shape[1] - 7), s1);
            Assert.IsTrue(MaxAbsDiff(whole, torch.cat([a, b], 1)) < 1e-10, mode.ToString());
            Assert.IsTrue(MaxAbsDiff(endState.Memory, s2.Memory) < 1e-10, mode.ToString());
        }
    }

    internal static LmuLayerOptions Options(HiddenCell cell, bool inputToHidden, int memoryD, int hiddenUnits = 4) => new()
    {
        InputSize = 2, MemoryD = memoryD, Order = 5, Theta = 7.5, HiddenCell = cell, HiddenUnits = hiddenUnits,
        InputToHidden = inputToHidden, UseMemoryBias = true,
    };

    internal static LmuLayer Build(HiddenCell cell, bool inputToHidden, int memoryD, bool recurrentMemory, LmuExecutionMode mode, ScalarType dtype, int hiddenUnits = 4)
    {
        var o = Options(cell, inputToHidden, memoryD, hiddenUnits);
        o.MemoryToMemory = recurrentMemory;
        o.ExecutionMode = mode;
        var layer = new LmuLayer(o);
        layer.to(dtype);
        Randomise(layer, seed: 7);
        return layer;
    }

    internal static Tensor Input(ScalarType dtype, long seed, int channels = 2)
    {
        var g = new torch.Generator((ulong)seed);
        return torch.randn([4, 17, channels], dtype: dtype, generator: g);
    }

    /// <summary>Same outputs, and the same gradients for the input and every parameter under a random loss.</summary>
    private static void CompareOutputsAndGradients(LmuLayer a, LmuLayer b, Tensor x, double tol, string what, bool inputGradient = true)
    {
        var xa = x.detach().clone().requires_grad_(inputGradient);
        var xb = x.detach().clone().requires_grad_(inputGradient);
        var ya = a.forward(xa);
        var yb = b.forward(xb);
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
        }

        // Callers compare the same layers again: start each comparison from zero gradients.
        a.zero_grad();
        b.zero_grad();
    }
}
