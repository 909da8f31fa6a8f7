using Lmu.MLNet.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Modules;

/// <summary>
/// The managed dropout mask (DropoutMask): its values, its keep rate and the independence of neighbouring draws
/// against the binomial's spread (5 standard deviations: a false alarm about once in 3.5 million runs, while a
/// threshold off by 1 % of p or a draw reused for two elements is 10-100 deviations out), reproducibility from torch's
/// seed, and the gradient through the same mask.
/// </summary>
[TestClass]
public sealed class DropoutMaskTests
{
    private const int Rows = 1001, Columns = 401; // 401,401 values

    [TestMethod]
    [DataRow(0.1, ScalarType.Float32)]
    [DataRow(0.5, ScalarType.Float32)]
    [DataRow(0.9, ScalarType.Float32)]
    [DataRow(0.3, ScalarType.Float64)]
    public void ValuesAreZeroOrTheScaleAndTheKeepRateIsOneMinusP(double p, ScalarType dtype)
    {
        torch.manual_seed(1);
        using var mask = DropoutMask.Create([Rows, Columns], p, dtype, torch.CPU);
        Assert.AreEqual(dtype, mask.dtype);
        var values = mask.to(float64).data<double>().ToArray();
        double scale = dtype == ScalarType.Float32 ? (float)(1 / (1 - p)) : 1 / (1 - p);
        long kept = 0;
        foreach (var v in values)
        {
            if (v == scale) kept++;
            else if (v != 0) Assert.Fail($"mask value {v}: expected 0 or {scale}");
        }
        AssertRate(1 - p, kept, values.Length, "kept");
    }

    [TestMethod]
    [DataRow(ScalarType.Float32)]
    [DataRow(ScalarType.Float64)]
    public void TheLastValueOfAnOddLengthIsDrawnToo(ScalarType dtype)
    {
        // The last of an odd count takes a draw of its own: over 400 masks of 3 values it is kept at the rate 1-p.
        torch.manual_seed(4);
        long kept = 0;
        for (int i = 0; i < 400; i++)
        {
            using var mask = DropoutMask.Create([3], 0.5, dtype, torch.CPU);
            using var last = mask[2];
            using var nonzero = last.ne(0);
            if (nonzero.item<bool>()) kept++;
        }
        AssertRate(0.5, kept, 400, "last value kept");
    }

    [TestMethod]
    public void TheLibtorchFallbackDrawsFromTheFitsSeedStreamNotTheGlobalGenerator()
    {
        // Float16 has no managed mask: libtorch draws it. It drew from torch's global generator, which every Fit running
        // beside this one shares, so concurrent seeded Fits did not reproduce (found by review).
        using var x = torch.ones([64, 64], dtype: ScalarType.Float16);
        float[] Draw(int seed)
        {
            using var seeds = Lmu.MLNet.Training.TrainingRandom.UseDropoutSeeds(seed);
            using var y = DropoutMask.Apply(x, 0.5);
            using var f = y.to(float32);
            return f.data<float>().ToArray();
        }

        torch.manual_seed(1);
        var a = Draw(7);
        using (var after = torch.rand([4]))
        {
            torch.manual_seed(1);
            using var untouched = torch.rand([4]);
            CollectionAssert.AreEqual(untouched.data<float>().ToArray(), after.data<float>().ToArray(), "the global generator was not drawn from");
        }

        torch.manual_seed(99);
        CollectionAssert.AreEqual(a, Draw(7), "the same seed stream gives the same mask whatever the global generator's state");
        CollectionAssert.AreNotEqual(a, Draw(8));
        Assert.IsTrue(a.All(v => v is 0 or 2), "values are 0 or 1/(1-p)");
        AssertRate(0.5, a.Count(v => v != 0), a.Length, "kept");
    }

    [TestMethod]
    public void NeighbouringValuesAreIndependent()
    {
        // Values 2j and 2j+1 share one 64-bit draw; values 2j+1 and 2j+2 come from successive draws. Both pairs must be
        // kept together at the rate k^2.
        const double P = 0.4, K = 1 - P;
        torch.manual_seed(2);
        using var mask = DropoutMask.Create([Rows * Columns], P, ScalarType.Float32, torch.CPU);
        var v = mask.data<float>().ToArray();
        long sameDraw = 0, nextDraw = 0, pairs = (v.Length - 1) / 2;
        for (int j = 0; j + 2 < v.Length; j += 2)
        {
            if (v[j] != 0 && v[j + 1] != 0) sameDraw++;
            if (v[j + 1] != 0 && v[j + 2] != 0) nextDraw++;
        }
        AssertRate(K * K, sameDraw, pairs, "both halves of one draw kept");
        AssertRate(K * K, nextDraw, pairs, "the ends of two successive draws kept");
    }

    [TestMethod]
    public void TorchsSeedFixesTheMasksAndSuccessiveMasksDiffer()
    {
        torch.manual_seed(7);
        using var a = DropoutMask.Create([64, 33], 0.5, ScalarType.Float32, torch.CPU);
        using var b = DropoutMask.Create([64, 33], 0.5, ScalarType.Float32, torch.CPU);
        torch.manual_seed(7);
        using var again = DropoutMask.Create([64, 33], 0.5, ScalarType.Float32, torch.CPU);
        float[] first = a.data<float>().ToArray(), second = b.data<float>().ToArray(), repeat = again.data<float>().ToArray();
        CollectionAssert.AreEqual(first, repeat, "the same seed gives the same mask");
        CollectionAssert.AreNotEqual(first, second, "the next mask is a new draw");
    }

    [TestMethod]
    public void TheGradientPassesThroughTheSameMask()
    {
        torch.manual_seed(3);
        using var x = (torch.rand(50, 20, dtype: float64) + 0.5).requires_grad_();
        using var scope = NewDisposeScope();
        var y = DropoutMask.Apply(x, 0.25);
        (y * 3).sum().backward();
        // dL/dx = 3 mask, and mask = y / x where x > 0.
        var expected = (y.detach() / x.detach()) * 3;
        Assert.IsTrue(x.grad!.allclose(expected, rtol: 1e-12, atol: 1e-12), "gradient = upstream gradient times the same mask");
        var kept = y.detach().ne(0).sum().item<long>();
        Assert.IsTrue(kept is > 0 and < 1000, $"some but not all of the 1000 values kept ({kept})");
    }

    [TestMethod]
    public void ProbabilitiesOutsideTheOpenUnitIntervalAreRejected()
    {
        foreach (var p in new[] { 0.0, 1.0, -0.1, double.NaN })
            Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => DropoutMask.Create([4], p, ScalarType.Float32, torch.CPU), $"p = {p}");
    }

    private static void AssertRate(double rate, long hits, long trials, string what)
    {
        double sigma = Math.Sqrt(rate * (1 - rate) / trials);
        double observed = hits / (double)trials;
        Bound.Below(5 * sigma, Math.Abs(observed - rate), $"{what}: {observed:F5} against {rate:F5} ({trials} trials)");
    }
}
