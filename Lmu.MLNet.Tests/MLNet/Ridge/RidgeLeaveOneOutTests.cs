using Lmu.MLNet.Maths;

namespace Lmu.MLNet.Tests.MLNet.Ridge;

/// <summary>
/// The closed-form leave-one-out ridge against brute force: n refits on n-1 rows, each re-centred on its own rows (the
/// intercept re-estimated) and solved in the primal form <c>(Z^T Z + n a I) w = Z^T y</c> by LU with the same penalty.
/// Both are float64 on well-conditioned data, so 1e-9 relative leaves room for rounding only; leaving out the
/// intercept's share of the hat diagonal (an earlier version did) is off by orders of magnitude at small penalties.
/// </summary>
[TestClass]
public sealed class RidgeLeaveOneOutTests
{
    [TestMethod]
    [DataRow(14, 5, "Dual")]
    [DataRow(14, 5, "Primal")]
    [DataRow(12, 40, "Dual")]
    [DataRow(12, 40, "Primal")]
    [DataRow(70, 37, "Dual")]
    [DataRow(70, 37, "Primal")]
    [DataRow(30, 67, "Dual")]
    [DataRow(30, 67, "Primal")]
    [DataRow(300, 21, "Primal")]
    [DataRow(67, 14, "Primal")]
    public void LeaveOneOutErrorsAndWeightsEqualBruteForce(int n, int p, string form)
    {
        // n > p and n < p (the random-feature regime, where the penalty matters most), each solved in both forms; the
        // larger sizes cross the kernels' vector tails, a block of hat rows (64) and, at 300 rows, a block of the
        // features' Gram matrix (256); 67 rows leave an odd 3 in the last hat block, 14 features a pair beyond the
        // hat's groups of 4 rows of X. Rows and targets have offsets so that the intercept matters.
        const int k = 3;
        var rng = new Random(4);
        var raw = Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, p).Select(f => (rng.NextDouble() * 2) - 1 + (0.3 * f)).ToArray()).ToList();
        var targets = new double[n, k];
        for (var i = 0; i < n; i++)
        {
            for (var c = 0; c < k; c++)
            {
                targets[i, c] = rng.NextDouble() + c;
            }
        }

        var (z, y) = Centred(raw, targets, Enumerable.Range(0, n).ToArray());
        double[] alphas = [0.001, 0.3, 5];
        var fit = RidgeLeaveOneOut.Fit(z, y, alphas, form: Enum.Parse<RidgeForm>(form));
        for (var a = 0; a < alphas.Length; a++)
        {
            var expected = BruteForceError(raw, targets, alphas[a]);
            Assert.AreEqual(expected, fit.LeaveOneOutErrors[a], 1e-9 * expected, $"alpha {alphas[a]}");
        }

        var best = Array.IndexOf(alphas, fit.Alpha);
        Assert.AreEqual(fit.LeaveOneOutErrors.Min(), fit.LeaveOneOutErrors[best], "the chosen penalty has the smallest error");
        var full = Primal(z, y, n * fit.Alpha);
        for (var f = 0; f < p; f++)
        {
            for (var c = 0; c < k; c++)
            {
                Assert.AreEqual(full[f, c], fit.Weights[f, c], 1e-9 * Math.Max(1, Math.Abs(full[f, c])), $"weight [{f}, {c}]");
            }
        }
    }

    [TestMethod]
    [DataRow("Dual")]
    [DataRow("Primal")]
    public void TinyPenaltiesKeepTheirLeaveOneOutErrors(string form)
    {
        // Review: in the dual form, e_i = c_i / (G_ii - 1/(n * n alpha)) subtracted two numbers of order 1/(n alpha) at
        // alpha 1e-8 (15 rows, 30 features, 5 of them constant): the error was 10 % off and the smallest penalty was
        // chosen where brute force chose 0.1. The brute-force solve itself is conditioned like 1/(n alpha), so 1e-5.
        const int n = 15, p = 30;
        var rng = new Random(9);
        var raw = Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, p).Select(f => f < 5 ? 2.0 : (rng.NextDouble() * 2) - 1).ToArray()).ToList();
        var targets = new double[n, 2];
        for (var i = 0; i < n; i++)
        {
            targets[i, 0] = i % 2 == 0 ? 1 : -1;
            targets[i, 1] = -targets[i, 0];
        }

        var (z, y) = Centred(raw, targets, Enumerable.Range(0, n).ToArray());
        double[] alphas = [1e-8, 1e-6, 1e-4, 0.1];
        var fit = RidgeLeaveOneOut.Fit(z, y, alphas, form: Enum.Parse<RidgeForm>(form));
        for (var a = 0; a < alphas.Length; a++)
        {
            var expected = BruteForceError(raw, targets, alphas[a]);
            Assert.AreEqual(expected, fit.LeaveOneOutErrors[a], 1e-5 * expected, $"alpha {alphas[a]}");
        }
    }

    [TestMethod]
    public void BadArgumentsAreRejected()
    {
        var z = new List<double[]> { new[] { 1.0 }, new[] { -1.0 } };
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => RidgeLeaveOneOut.Fit(z, new double[2, 1], [0])).Message, "penalties");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => RidgeLeaveOneOut.Fit(z, new double[3, 1], [1])).Message, "3 target rows");
    }

    /// <summary>
    /// The mean squared leave-one-out error at <paramref name="alpha"/> by brute force: n refits on n-1 rows, each
    /// re-centred on its own rows and solved in the primal form with the penalty of all n rows.
    /// </summary>
    private static double BruteForceError(List<double[]> raw, double[,] targets, double alpha)
    {
        int n = raw.Count, p = raw[0].Length, k = targets.GetLength(1);
        double sum = 0;
        for (var left = 0; left < n; left++)
        {
            var rows = Enumerable.Range(0, n).Where(i => i != left).ToArray();
            var (zl, yl) = Centred(raw, targets, rows);
            var w = Primal(zl, yl, n * alpha);
            for (var c = 0; c < k; c++)
            {
                var meanY = rows.Average(i => targets[i, c]);
                var prediction = meanY + Enumerable.Range(0, p).Sum(f => (raw[left][f] - rows.Average(i => raw[i][f])) * w[f, c]);
                sum += Math.Pow(targets[left, c] - prediction, 2);
            }
        }

        return sum / (n * k);
    }

    /// <summary>The given rows, features and targets centred over those rows.</summary>
    private static (List<double[]> Z, double[,] Y) Centred(List<double[]> raw, double[,] targets, int[] rows)
    {
        var p = raw[0].Length;
        var k = targets.GetLength(1);
        var means = Enumerable.Range(0, p).Select(f => rows.Average(i => raw[i][f])).ToArray();
        var z = rows.Select(i => raw[i].Select((v, f) => v - means[f]).ToArray()).ToList();
        var y = new double[rows.Length, k];
        for (var c = 0; c < k; c++)
        {
            var mean = rows.Average(i => targets[i, c]);
            for (var r = 0; r < rows.Length; r++)
            {
                y[r, c] = targets[rows[r], c] - mean;
            }
        }

        return (z, y);
    }

    /// <summary><c>(Z^T Z + penalty I)^-1 Z^T Y</c> by LU, one target column at a time.</summary>
    private static double[,] Primal(List<double[]> z, double[,] y, double penalty)
    {
        var p = z[0].Length;
        var k = y.GetLength(1);
        var w = new double[p, k];
        for (var c = 0; c < k; c++)
        {
            var a = new double[p * p];
            // The solver takes an n x n right-hand side: the vector goes in column 0.
            var rhs = new double[p * p];
            for (var i = 0; i < z.Count; i++)
            {
                for (var f = 0; f < p; f++)
                {
                    rhs[f * p] += z[i][f] * y[i, c];
                    for (var g = 0; g < p; g++)
                    {
                        a[(f * p) + g] += z[i][f] * z[i][g];
                    }
                }
            }

            for (var f = 0; f < p; f++)
            {
                a[(f * p) + f] += penalty;
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
