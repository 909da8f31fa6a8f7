using Lmu.MLNet.Maths;

namespace Lmu.MLNet.Tests.Maths;

/// <summary>
/// The ridge's blocked float64 kernels against their definitions, at sizes on both sides of every block edge (Gram rows
/// 128 and spans 256; Cholesky blocks 64 and spans 512; inverse groups 32) and at vector tails. Products are compared
/// with plain triple loops; the factor by <c>L L^T = M + shift I</c> and the inverse by <c>X L = I</c>. Every matrix is
/// well conditioned (a random Gram matrix of more columns than rows, plus a shift), so float64 rounding stays below
/// 1e-12 of the entries' scale and 1e-10 leaves room for it only; a misplaced tile or a skipped block is off by the
/// entries' own size. The upper triangle, which the solver does not read, must come back as it went in.
/// </summary>
[TestClass]
public sealed class DenseKernelsTests
{
    private const double Sentinel = 12345.5;

    [TestMethod]
    [DataRow(1, 3)]
    [DataRow(5, 7)]
    [DataRow(131, 257)]
    [DataRow(260, 600)]
    public void TheGramMatrixIsEveryPairsDotProduct(int count, int length)
    {
        var rows = RandomRows(count, length, seed: count);
        var gram = DenseKernels.LowerGram(rows, CancellationToken.None);
        for (var i = 0; i < count; i++)
        {
            for (var j = 0; j < count; j++)
            {
                var expected = j <= i ? Enumerable.Range(0, length).Sum(f => rows[i][f] * rows[j][f]) : 0;
                Assert.AreEqual(expected, gram[(i * count) + j], 1e-10 * length, $"[{i}, {j}]");
            }
        }
    }

    [TestMethod]
    [DataRow(1, 3)]
    [DataRow(70, 300)]
    [DataRow(300, 131)]
    public void TheGramMatrixOfColumnsIsEveryColumnPairsDotProduct(int count, int length)
    {
        var rows = RandomRows(count, length, seed: length);
        var gram = DenseKernels.LowerGramOfColumns(rows, CancellationToken.None);
        for (var f = 0; f < length; f++)
        {
            for (var g = 0; g <= f; g++)
            {
                var expected = Enumerable.Range(0, count).Sum(r => rows[r][f] * rows[r][g]);
                Assert.AreEqual(expected, gram[(f * length) + g], 1e-10 * count, $"[{f}, {g}]");
            }
        }
    }

    [TestMethod]
    [DataRow(1)]
    [DataRow(3)]
    [DataRow(63)]
    [DataRow(64)]
    [DataRow(65)]
    [DataRow(129)]
    [DataRow(700)]
    public void TheFactorTimesItsTransposeIsTheShiftedMatrix(int n)
    {
        const double shift = 0.25;
        var m = SymmetricPositive(n);
        var l = (double[])m.Clone();
        DenseKernels.CholeskyInPlace(l, n, shift, CancellationToken.None);
        var scale = Enumerable.Range(0, n).Max(i => m[(i * n) + i]) + shift;
        for (var i = 0; i < n; i++)
        {
            Assert.IsGreaterThan(0.0, l[(i * n) + i], $"pivot {i}");
            for (var j = 0; j <= i; j++)
            {
                double product = 0;
                for (var r = 0; r <= j; r++)
                {
                    product += l[(i * n) + r] * l[(j * n) + r];
                }

                var expected = m[(i * n) + j] + (i == j ? shift : 0);
                Assert.AreEqual(expected, product, 1e-10 * scale, $"(L L^T)[{i}, {j}]");
            }

            for (var j = i + 1; j < n; j++)
            {
                Assert.AreEqual(Sentinel, l[(i * n) + j], $"upper [{i}, {j}] untouched");
            }
        }
    }

    [TestMethod]
    [DataRow(1)]
    [DataRow(4)]
    [DataRow(31)]
    [DataRow(32)]
    [DataRow(33)]
    [DataRow(97)]
    [DataRow(300)]
    public void TheInverseTimesTheFactorIsTheIdentity(int n)
    {
        var l = SymmetricPositive(n);
        DenseKernels.CholeskyInPlace(l, n, 0.25, CancellationToken.None);
        var factor = (double[])l.Clone();
        DenseKernels.LowerInverseInPlace(l, n, CancellationToken.None);
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j <= i; j++)
            {
                // (X L)[i, j] = sum over j <= r <= i of X[i, r] L[r, j]: both lower triangular.
                double product = 0;
                for (var r = j; r <= i; r++)
                {
                    product += l[(i * n) + r] * factor[(r * n) + j];
                }

                Assert.AreEqual(i == j ? 1.0 : 0.0, product, 1e-10, $"(X L)[{i}, {j}]");
            }

            for (var j = i + 1; j < n; j++)
            {
                Assert.AreEqual(Sentinel, l[(i * n) + j], $"upper [{i}, {j}] untouched");
            }
        }
    }

    [TestMethod]
    public void ACancelledTokenStopsEachKernel()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var rows = RandomRows(8, 8, seed: 1);
        Assert.ThrowsExactly<OperationCanceledException>(() => DenseKernels.LowerGram(rows, cancelled.Token));
        Assert.ThrowsExactly<OperationCanceledException>(() => DenseKernels.LowerGramOfColumns(rows, cancelled.Token));
        var m = SymmetricPositive(8);
        Assert.ThrowsExactly<OperationCanceledException>(() => DenseKernels.CholeskyInPlace(m, 8, 1, cancelled.Token));
        Assert.ThrowsExactly<OperationCanceledException>(() => DenseKernels.LowerInverseInPlace(m, 8, cancelled.Token));
    }

    private static List<double[]> RandomRows(int count, int length, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, length).Select(_ => (rng.NextDouble() * 2) - 1).ToArray()).ToList();
    }

    /// <summary>The lower triangle of R R^T for n x (n + 8) random R, divided by the columns; the upper triangle holds <see cref="Sentinel"/>.</summary>
    private static double[] SymmetricPositive(int n)
    {
        var rows = RandomRows(n, n + 8, seed: 1000 + n);
        var m = new double[n * n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                m[(i * n) + j] = j <= i ? rows[i].Zip(rows[j], (a, b) => a * b).Sum() / (n + 8) : Sentinel;
            }
        }

        return m;
    }
}
