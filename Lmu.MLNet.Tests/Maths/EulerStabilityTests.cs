using System.Diagnostics;
using System.Numerics;
using Lmu.MLNet.Maths;
using Lmu.MLNet.Tests.Infrastructure;

namespace Lmu.MLNet.Tests.Maths;

/// <summary>
/// The smallest theta at which Euler's memory is stable: against LAPACK's eigenvalues (the committed oracle, orders 1-64),
/// against what Ad = I + A/theta itself does beyond them, and the QR iteration behind it against matrices whose
/// eigenvalues are known.
/// </summary>
[TestClass]
public sealed class EulerStabilityTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void TheBoundIsLapacksOnEveryOracleOrder()
    {
        // Orders up to 64 have well-separated eigenvalues: LAPACK and this QR iteration agree to rounding, and 1e-9
        // relative is far below any bound a user would meet yet far above float64 rounding of the eigenvalues.
        var cases = OracleFile.Load(OracleFile.Committed).GetProperty("euler_min_theta");
        Assert.IsGreaterThanOrEqualTo(40, cases.GetArrayLength());
        var failures = new List<string>();
        foreach (var c in cases.EnumerateArray())
        {
            int order = c.GetProperty("order").GetInt32();
            double expected = c.GetProperty("min_theta").GetDouble(), actual = EulerStability.MinimumTheta(order);
            if (!(Math.Abs(actual - expected) <= 1e-9 * expected))
            {
                failures.Add($"order {order}: {actual:R} against {expected:R}");
            }
        }

        Assert.IsEmpty(failures, string.Join("; ", failures));
    }

    [TestMethod]
    [DataRow(8)]
    [DataRow(32)]
    [DataRow(96)]
    [DataRow(128)]
    public void AdGrowsJustBelowTheBoundAndNotJustAboveIt(int order)
    {
        // Gelfand: ||Ad^N||^(1/N) tends to the spectral radius from above; N = 2^22 leaves a bias of ln(cond)/N, a few
        // 1e-6 here. 5 % either side of the bound moves the radius by 1e-4 or more at these orders (0.9 of the bound
        // gave 1 + 9e-4 at order 128 in numpy), well clear of the bias.
        double bound = EulerStability.MinimumTheta(order);
        Assert.IsGreaterThan(1 + 2e-5, Radius(order, bound * 0.95), "5 % below the bound the memory must grow");
        Bound.Below(1.0, Radius(order, bound * 1.05), "5 % above the bound the memory must not grow");
    }

    [TestMethod]
    public void EigenvaluesOfMatricesBuiltFromKnownOnes()
    {
        var rng = new Random(5);
        foreach (var n in new[] { 1, 2, 3, 4, 7, 12, 25, 40 })
        {
            // T: block upper triangular with real values and 2 x 2 blocks [[a, b], [-c, a]] (b c > 0: a +- i sqrt(bc)),
            // then M = Q T Q^T for a random orthogonal Q (products of Householder reflections).
            var t = new double[n * n];
            var expected = new List<Complex>();
            for (int i = 0; i < n; i++)
            {
                if (i + 1 < n && rng.Next(2) == 0)
                {
                    double a = rng.NextDouble() * 4 - 2, b = 0.2 + rng.NextDouble(), c = 0.2 + rng.NextDouble();
                    t[i * n + i] = a;
                    t[(i + 1) * n + i + 1] = a;
                    t[i * n + i + 1] = b;
                    t[(i + 1) * n + i] = -c;
                    expected.Add(new Complex(a, Math.Sqrt(b * c)));
                    expected.Add(new Complex(a, -Math.Sqrt(b * c)));
                    i++;
                }
                else
                {
                    t[i * n + i] = rng.NextDouble() * 6 - 3;
                    expected.Add(t[i * n + i]);
                }
            }

            for (int i = 0; i < n; i++)
                for (int j = i + 1; j < n; j++)
                    if (t[j * n + i] == 0 || j > i + 1) t[i * n + j] = rng.NextDouble() - 0.5;

            var q = RandomOrthogonal(n, rng);
            var m = SquareMatrix.Multiply(SquareMatrix.Multiply(q, t, n), Transpose(q, n), n);
            var actual = RealEigenvalues.Of(m, n);
            Assert.HasCount(n, actual);
            foreach (var e in expected)
            {
                var nearest = actual.Min(a => Complex.Abs(a - e));
                Bound.AtMost(1e-9, nearest, $"n = {n}: {e} not found among {string.Join(", ", actual)}");
            }

            // The trace and the count of each conjugate pair: the values come in pairs, none twice.
            Assert.AreEqual(expected.Sum(e => e.Real), actual.Sum(a => a.Real), 1e-9, $"n = {n}: trace");
        }
    }

    [TestMethod]
    public void NaNOrAnInfinityIsRefusedRatherThanLoopingForever()
    {
        // Balancing compares norms, and every comparison with NaN is false: the review found it never ended.
        Assert.ThrowsExactly<ArgumentException>(() => RealEigenvalues.Of([1, double.NaN, 3, 4], 2));
        Assert.ThrowsExactly<ArgumentException>(() => RealEigenvalues.Of([1, 2, double.PositiveInfinity, 4], 2));
    }

    [TestMethod]
    public void LargeOrdersAreQuick()
    {
        // Validate runs it on the first Euler layer of each order; order 256 is the psMNIST-sized memory.
        var watch = Stopwatch.StartNew();
        double bound = EulerStability.MinimumTheta(256);
        TestContext.WriteLine($"order 256: minimum theta {bound:G6} in {watch.ElapsedMilliseconds} ms");
        Assert.IsGreaterThan(EulerStability.MinimumTheta(128), bound, "the bound rises with the order");
    }

    /// <summary>||Ad^N||^(1/N) for N = 2^22, Ad = I + A/theta, by squaring with the norm taken out at each step.</summary>
    private static double Radius(int order, double theta)
    {
        var a = LegendreSystem.ContinuousA(order);
        var m = new double[order * order];
        for (int i = 0; i < order; i++)
            for (int j = 0; j < order; j++)
                m[i * order + j] = (i == j ? 1 : 0) + a[i, j] / theta;
        double log = 0;
        const int squarings = 22;
        for (int k = 0; k < squarings; k++)
        {
            m = SquareMatrix.Multiply(m, m, order);
            double norm = Math.Sqrt(m.Sum(x => x * x));
            log = 2 * log + Math.Log(norm);
            for (int i = 0; i < m.Length; i++) m[i] /= norm;
        }

        return Math.Exp(log / Math.Pow(2, squarings));
    }

    private static double[] RandomOrthogonal(int n, Random rng)
    {
        var q = new double[n * n];
        for (int i = 0; i < n; i++) q[i * n + i] = 1;
        for (int r = 0; r < 3; r++)
        {
            var v = Enumerable.Range(0, n).Select(_ => rng.NextDouble() - 0.5).ToArray();
            double vv = v.Sum(x => x * x);
            var h = new double[n * n];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    h[i * n + j] = (i == j ? 1 : 0) - 2 * v[i] * v[j] / vv;
            q = SquareMatrix.Multiply(q, h, n);
        }

        return q;
    }

    private static double[] Transpose(double[] m, int n)
    {
        var t = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                t[j * n + i] = m[i * n + j];
        return t;
    }
}
