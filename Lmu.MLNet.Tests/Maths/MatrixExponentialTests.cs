using Lmu.MLNet.Maths;

namespace Lmu.MLNet.Tests.Maths;

/// <summary>Checks exp against closed forms that do not share any code with the scaling-and-squaring implementation.</summary>
[TestClass]
public sealed class MatrixExponentialTests
{
    [TestMethod]
    public void DiagonalMatrixExponentiatesEachEntry()
    {
        // Norm 12 forces two halvings and squarings; each squaring can double the relative error, so allow 1e-14.
        double[] diagonal = { -12, -0.5, 0, 1e-3, 3.25 };
        var m = new double[5, 5];
        for (var i = 0; i < 5; i++)
        {
            m[i, i] = diagonal[i];
        }

        var e = MatrixExponential.Exp(m);
        for (var i = 0; i < 5; i++)
        {
            for (var j = 0; j < 5; j++)
            {
                var expected = i == j ? Math.Exp(diagonal[i]) : 0.0;
                Assert.AreEqual(expected, e[i, j], 1e-14 * Math.Max(1, Math.Abs(expected)), $"[{i},{j}]");
            }
        }
    }

    [TestMethod]
    public void NilpotentMatrixGivesTheFiniteSeries()
    {
        // Strictly upper-triangular N has N^4 = 0, so exp(N) = I + N + N^2/2 + N^3/6 exactly; entries up to 7 give a
        // norm above the Padé threshold so the squaring path is exercised. Result entries reach ~200: 1e-12 relative.
        double[,] n =
        {
            { 0, 2, -1, 3 },
            { 0, 0, 4, 0.5 },
            { 0, 0, 0, -7 },
            { 0, 0, 0, 0 },
        };
        var n2 = Numeric.Multiply(n, n);
        var n3 = Numeric.Multiply(n2, n);
        var expected = Numeric.Identity(4);
        for (var i = 0; i < 4; i++)
        {
            for (var j = 0; j < 4; j++)
            {
                expected[i, j] += n[i, j] + n2[i, j] / 2 + n3[i, j] / 6;
            }
        }

        var actual = MatrixExponential.Exp(n);
        Bound.Below(1e-12 * Numeric.MaxAbs(expected), Numeric.MaxAbsDiff(expected, actual));
    }

    [TestMethod]
    public void ExpOfMinusAIsTheInverse()
    {
        // A general non-symmetric matrix with 1-norm ~15 (scaling path). exp(A) exp(-A) = I holds exactly; the
        // product's rounding is bounded by about n * eps * |exp(A)| |exp(-A)|, so scale the tolerance by that.
        double[,] a =
        {
            { 0.3, -1.2, 2.0, 0.7 },
            { 4.1, -0.4, 0.0, -2.2 },
            { -0.6, 3.3, 1.1, 0.9 },
            { 2.5, -0.8, -1.7, -3.0 },
        };
        var minusA = new double[4, 4];
        for (var i = 0; i < 4; i++)
        {
            for (var j = 0; j < 4; j++)
            {
                minusA[i, j] = -a[i, j];
            }
        }

        var forward = MatrixExponential.Exp(a);
        var backward = MatrixExponential.Exp(minusA);
        var scale = Numeric.MaxAbs(forward) * Numeric.MaxAbs(backward);
        Bound.Below(1e-13 * scale, Numeric.MaxAbsDiff(Numeric.Identity(4), Numeric.Multiply(forward, backward)));
        Bound.Below(1e-13 * scale, Numeric.MaxAbsDiff(Numeric.Identity(4), Numeric.Multiply(backward, forward)));
    }

    [TestMethod]
    public void SkewMatrixGivesARotation()
    {
        // exp([[0, -t], [t, 0]]) = [[cos t, -sin t], [sin t, cos t]]; t = 0.5 stays inside the Padé range, t = 40
        // needs four squarings (errors grow ~2^s), both must be within 1e-13 of the O(1) entries.
        foreach (var t in new[] { 0.5, 40.0 })
        {
            var e = MatrixExponential.Exp(new[,] { { 0, -t }, { t, 0 } });
            double[,] expected = { { Math.Cos(t), -Math.Sin(t) }, { Math.Sin(t), Math.Cos(t) } };
            Bound.Below(1e-13, Numeric.MaxAbsDiff(expected, e), $"t = {t}");
        }
    }

    [TestMethod]
    public void ZeroMatrixGivesIdentityAndScalarGivesExp()
    {
        Assert.AreEqual(0.0, Numeric.MaxAbsDiff(Numeric.Identity(3), MatrixExponential.Exp(new double[3, 3])));
        Assert.AreEqual(Math.Exp(-2.5), MatrixExponential.Exp(new[,] { { -2.5 } })[0, 0], 1e-15);
        Assert.AreEqual(0, MatrixExponential.Exp(new double[0, 0]).Length);
    }

    [TestMethod]
    public void InputIsNotModified()
    {
        double[,] m = { { 1, 20 }, { -3, 4 } };
        var copy = (double[,])m.Clone();
        _ = MatrixExponential.Exp(m);
        Assert.AreEqual(0.0, Numeric.MaxAbsDiff(copy, m));
    }
}
