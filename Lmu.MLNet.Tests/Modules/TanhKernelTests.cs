using Lmu.MLNet.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Modules;

/// <summary>
/// The managed in-place tanh (TanhKernel) against System.Math.Tanh in float64: over [-20, 20] in steps of 1e-3 (odd
/// lengths, so the padded tail runs), relative accuracy near 0 down to subnormals, the infinities, NaN and signed
/// zero. Bounds: float32 2e-7 absolute (the sigmoid form it replaces is within 1.8e-7; a float32 ulp near 1 is 6e-8),
/// float64 1e-15.
/// </summary>
[TestClass]
public sealed class TanhKernelTests
{
    private static double[] Grid() => Enumerable.Range(-20_000, 40_001).Select(i => i * 1e-3).ToArray();

    [TestMethod]
    public void Float32IsWithinTwoTenMillionthsOfTanh()
    {
        var grid = Grid();
        using var x = torch.tensor(grid.Select(v => (float)v).ToArray());
        Assert.IsTrue(TanhKernel.TryApply(x));
        var got = x.data<float>().ToArray();
        double worst = 0;
        for (int i = 0; i < grid.Length; i++) worst = Math.Max(worst, Math.Abs(got[i] - Math.Tanh((float)grid[i])));
        Bound.AtMost(2e-7, worst, "max |kernel - tanh| in float32");
    }

    [TestMethod]
    public void Float64IsWithinOneQuadrillionthOfTanh()
    {
        var grid = Grid();
        using var x = torch.tensor(grid);
        Assert.IsTrue(TanhKernel.TryApply(x));
        var got = x.data<double>().ToArray();
        double worst = 0;
        for (int i = 0; i < grid.Length; i++) worst = Math.Max(worst, Math.Abs(got[i] - Math.Tanh(grid[i])));
        Bound.AtMost(1e-15, worst, "max |kernel - tanh| in float64");
    }

    [TestMethod]
    public void SmallValuesKeepTheirRelativeAccuracyAndSign()
    {
        // Log-spaced magnitudes from far below float32's smallest normal to 20, and every 1e-6 over [0.2, 1.2] where the
        // exponential form takes over (its worst relative error is just past the switch at 0.25), both signs: the
        // exponential form alone returned 0 for 1e-8 and was 0.09 % off at 1e-4. Bounds: float32 7e-7 relative (the
        // exponential form's 6.3e-7 at 0.250007), float64 8e-15 (its 4.2e-15 just past 1/16).
        var magnitudes = Enumerable.Range(0, 400).Select(i => Math.Pow(10, -45 + (i * 0.116)))
            .Concat(Enumerable.Range(0, 1_000_001).Select(i => 0.2 + (i * 1e-6))).ToArray();
        var values = magnitudes.Concat(magnitudes.Select(m => -m)).ToArray();
        using (var x32 = torch.tensor(values.Select(v => (float)v).ToArray()))
        {
            var input = x32.data<float>().ToArray();
            Assert.IsTrue(TanhKernel.TryApply(x32));
            var got = x32.data<float>().ToArray();
            double worst = 0;
            for (int i = 0; i < input.Length; i++)
            {
                if (input[i] == 0) continue;
                double exact = Math.Tanh(input[i]);
                worst = Math.Max(worst, Math.Abs(got[i] - exact) / Math.Abs(exact));
            }
            Bound.AtMost(7e-7, worst, "max relative error in float32");
        }

        var wide = Enumerable.Range(0, 400).Select(i => Math.Pow(10, -300 + (i * 0.753))).ToArray();
        using (var x64 = torch.tensor(wide.Concat(wide.Select(m => -m)).ToArray()))
        {
            var input = x64.data<double>().ToArray();
            Assert.IsTrue(TanhKernel.TryApply(x64));
            var got = x64.data<double>().ToArray();
            double worst = 0;
            for (int i = 0; i < input.Length; i++) worst = Math.Max(worst, Math.Abs(got[i] - Math.Tanh(input[i])) / Math.Abs(Math.Tanh(input[i])));
            Bound.AtMost(8e-15, worst, "max relative error in float64");
        }

        using var zeros = torch.tensor(new[] { -0f, 0f });
        Assert.IsTrue(TanhKernel.TryApply(zeros));
        var z = zeros.data<float>().ToArray();
        Assert.IsTrue(float.IsNegative(z[0]) && z[0] == 0, "tanh(-0) = -0");
        Assert.IsTrue(!float.IsNegative(z[1]) && z[1] == 0, "tanh(+0) = +0");
    }

    [TestMethod]
    public void SpecialValuesKeepTheirLimits()
    {
        using var x = torch.tensor(new[] { float.NegativeInfinity, -100f, 0f, 100f, float.PositiveInfinity, float.NaN, 30f });
        Assert.IsTrue(TanhKernel.TryApply(x));
        var got = x.data<float>().ToArray();
        Assert.AreEqual(-1f, got[0]);
        Assert.AreEqual(-1f, got[1]);
        Assert.AreEqual(0f, got[2]);
        Assert.AreEqual(1f, got[3]);
        Assert.AreEqual(1f, got[4]);
        Assert.IsTrue(float.IsNaN(got[5]), "NaN stays NaN");
        Assert.AreEqual(1f, got[6]);
    }

    [TestMethod]
    public void TensorsItCannotSpanAreLeftToLibtorch()
    {
        using var wide = torch.ones(3, 4);
        using var view = wide.t();
        Assert.IsFalse(TanhKernel.TryApply(view), "not contiguous");
        using var half = torch.ones(5, dtype: float16);
        Assert.IsFalse(TanhKernel.TryApply(half), "float16");
        CollectionAssert.AreEqual(Enumerable.Repeat(1f, 12).ToArray(), wide.data<float>().ToArray(), "untouched");

        // Through TanhInPlace the same view still gets tanh (libtorch's ops).
        LinearScanFunction.TanhInPlace(view);
        Bound.AtMost(1e-6, Math.Abs(wide[0, 0].item<float>() - Math.Tanh(1)), "tanh(1) through the fallback");
    }
}
