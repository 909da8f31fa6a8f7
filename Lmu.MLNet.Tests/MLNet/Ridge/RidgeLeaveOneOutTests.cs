using Lmu.MLNet.Maths;

namespace Lmu.MLNet.Tests.MLNet.Ridge;

/// <summary>
/// The closed-form leave-one-out ridge against brute force: n refits on n-1 rows, each solved in the primal form
/// <c>(Z^T Z + a I) w = Z^T y</c> by LU. Both are float64 on well-conditioned data (a &gt;= 1e-2 here), so 1e-9 relative
/// leaves room for rounding only.
/// </summary>
[TestClass]
public sealed class RidgeLeaveOneOutTests
{
    [TestMethod]
    public void LeaveOneOutErrorsAndWeightsEqualBruteForce()
    {
        const int n = 14, p = 5, k = 3;
        var rng = new Random(4);
        var z = Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, p).Select(_ => rng.NextDouble() * 2 - 1).ToArray()).ToList();
        var y = new double[n, k];
        for (var i = 0; i < n; i++)
        {
            for (var c = 0; c < k; c++)
            {
                y[i, c] = rng.NextDouble() - 0.5;
            }
        }

        double[] alphas = [0.01, 0.3, 5];
        var fit = RidgeLeaveOneOut.Fit(z, y, alphas);
        for (var a = 0; a < alphas.Length; a++)
        {
            double sum = 0;
            for (var left = 0; left < n; left++)
            {
                var rows = Enumerable.Range(0, n).Where(i => i != left).ToArray();
                var w = Primal(z, y, rows, alphas[a]);
                for (var c = 0; c < k; c++)
                {
                    var prediction = Enumerable.Range(0, p).Sum(f => z[left][f] * w[f, c]);
                    sum += Math.Pow(y[left, c] - prediction, 2);
                }
            }

            var expected = sum / (n * k);
            Assert.AreEqual(expected, fit.LeaveOneOutErrors[a], 1e-9 * expected, $"alpha {alphas[a]}");
        }

        var best = Array.IndexOf(alphas, fit.Alpha);
        Assert.AreEqual(fit.LeaveOneOutErrors.Min(), fit.LeaveOneOutErrors[best], "the chosen penalty has the smallest error");
        var full = Primal(z, y, Enumerable.Range(0, n).ToArray(), fit.Alpha);
        for (var f = 0; f < p; f++)
        {
            for (var c = 0; c < k; c++)
            {
                Assert.AreEqual(full[f, c], fit.Weights[f, c], 1e-9 * Math.Max(1, Math.Abs(full[f, c])), $"weight [{f}, {c}]");
            }
        }
    }

    [TestMethod]
    public void BadArgumentsAreRejected()
    {
        var z = new List<double[]> { new[] { 1.0 }, new[] { -1.0 } };
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => RidgeLeaveOneOut.Fit(z, new double[2, 1], [0])).Message, "penalties");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => RidgeLeaveOneOut.Fit(z, new double[3, 1], [1])).Message, "3 target rows");
    }

    private static double[,] Primal(IReadOnlyList<double[]> z, double[,] y, int[] rows, double alpha)
    {
        var p = z[0].Length;
        var k = y.GetLength(1);
        var w = new double[p, k];
        for (var c = 0; c < k; c++)
        {
            var a = new double[p * p];
            var b = new double[p];
            foreach (var i in rows)
            {
                for (var f = 0; f < p; f++)
                {
                    b[f] += z[i][f] * y[i, c];
                    for (var g = 0; g < p; g++)
                    {
                        a[(f * p) + g] += z[i][f] * z[i][g];
                    }
                }
            }

            for (var f = 0; f < p; f++)
            {
                a[(f * p) + f] += alpha;
            }

            // The solver takes an n x n right-hand side: the vector goes in column 0.
            var rhs = new double[p * p];
            for (var f = 0; f < p; f++)
            {
                rhs[f * p] = b[f];
            }

            var x = LuSolver.SolveInPlace(a, rhs, p);
            for (var f = 0; f < p; f++)
            {
                w[f, c] = x[f * p];
            }
        }

        return w;
    }
}
