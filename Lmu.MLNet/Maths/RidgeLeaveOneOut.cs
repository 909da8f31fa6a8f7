using System.Numerics;

namespace Lmu.MLNet.Maths;

/// <summary>
/// Multi-output ridge regression with an unpenalised intercept whose penalty is chosen by exact leave-one-out error, in
/// float64. The caller centres the rows and the targets over the n rows, so the intercept is the targets' mean and
/// the weights minimise <c>(1/n) sum_i |y_i - z_i W|^2 + alpha |W|^2</c>, i.e. <c>W = Z^T c</c> with dual coefficients
/// <c>c = G Y</c> and <c>G = (Z Z^T + n alpha I)^-1</c>. (Per-row averaging makes alpha the penalty on unit-norm
/// columns of the usual random-convolution recipe.) For each candidate, the residual of row i in a refit without row i
/// (intercept re-estimated, same penalty) has the closed form <c>e_i = c_i / (G_ii - 1/(n * n alpha))</c>: the hat
/// matrix is <c>11^T/n + K G</c>, and centred rows make 1 an eigenvector of G with eigenvalue <c>1/(n alpha)</c>. So every
/// candidate is scored without refitting.
/// </summary>
/// <remarks>
/// Cost: the Gram matrix <c>Z Z^T</c> in <c>O(n^2 p)</c>, then one Cholesky inverse per penalty in <c>O(n^3)</c>; it
/// suits the many-features, few-rows regime of random-feature classifiers (n up to a few thousand).
/// </remarks>
internal static class RidgeLeaveOneOut
{
    /// <summary>The chosen penalty, the primal weights [p, k] and every candidate's mean squared leave-one-out error.</summary>
    public sealed record Result(double Alpha, double[,] Weights, IReadOnlyList<double> LeaveOneOutErrors);

    /// <summary>Fits <paramref name="z"/> (n rows of p values, centred over the rows) to <paramref name="y"/> [n, k] (centred).</summary>
    /// <param name="z">Rows.</param>
    /// <param name="y">Targets.</param>
    /// <param name="alphas">Candidate penalties (on the per-row mean squared error, see the class summary).</param>
    /// <param name="cancellationToken">Checked once per row of each O(n^2)-or-more pass, so a caller's time budget stops a large fit promptly.</param>
    /// <exception cref="ArgumentException">Shapes disagree, or a penalty is not finite and positive.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static Result Fit(IReadOnlyList<double[]> z, double[,] y, IReadOnlyList<double> alphas, CancellationToken cancellationToken = default)
    {
        var n = z.Count;
        var k = y.GetLength(1);
        if (n == 0 || y.GetLength(0) != n)
        {
            throw new ArgumentException($"ridge needs as many target rows as feature rows and at least one ({n} feature rows, {y.GetLength(0)} target rows).");
        }

        if (alphas.Count == 0 || alphas.Any(a => !(a > 0) || !double.IsFinite(a)))
        {
            throw new ArgumentException($"ridge penalties must be finite and greater than 0 but were [{string.Join(", ", alphas)}].");
        }

        var p = z[0].Length;
        var gram = new double[n, n];
        for (var i = 0; i < n; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            for (var j = 0; j <= i; j++)
            {
                gram[i, j] = gram[j, i] = Dot(z[i], z[j]);
            }
        }

        var errors = new double[alphas.Count];
        double[,]? bestDual = null;
        var best = -1;
        for (var a = 0; a < alphas.Count; a++)
        {
            var penalty = n * alphas[a];
            var g = CholeskyInverse(gram, penalty, cancellationToken);
            var dual = Multiply(g, y);
            // The intercept's share of the hat diagonal, 1/n, is the constant direction's part of G_ii.
            var interceptShare = 1.0 / (n * penalty);
            double sum = 0;
            for (var i = 0; i < n; i++)
            {
                for (var c = 0; c < k; c++)
                {
                    var e = dual[i, c] / (g[i, i] - interceptShare);
                    sum += e * e;
                }
            }

            errors[a] = sum / (n * k);
            // Strictly smaller: ties keep the smaller penalty listed first.
            if (best < 0 || errors[a] < errors[best])
            {
                best = a;
                bestDual = dual;
            }
        }

        // Primal weights W = Z^T c.
        var weights = new double[p, k];
        for (var i = 0; i < n; i++)
        {
            var row = z[i];
            for (var c = 0; c < k; c++)
            {
                var d = bestDual![i, c];
                for (var f = 0; f < p; f++)
                {
                    weights[f, c] += row[f] * d;
                }
            }
        }

        return new Result(alphas[best], weights, errors);
    }

    private static double Dot(double[] a, double[] b)
    {
        var width = Vector<double>.Count;
        var acc = Vector<double>.Zero;
        var i = 0;
        for (; i <= a.Length - width; i += width)
        {
            acc += new Vector<double>(a, i) * new Vector<double>(b, i);
        }

        var sum = Vector.Sum(acc);
        for (; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    /// <summary><c>(m + alpha I)^-1</c> of a symmetric positive semi-definite m, through its Cholesky factor.</summary>
    private static double[,] CholeskyInverse(double[,] m, double alpha, CancellationToken cancellationToken)
    {
        var n = m.GetLength(0);
        var l = new double[n, n];
        for (var i = 0; i < n; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            for (var j = 0; j <= i; j++)
            {
                var sum = m[i, j] + (i == j ? alpha : 0);
                for (var r = 0; r < j; r++)
                {
                    sum -= l[i, r] * l[j, r];
                }

                if (i == j)
                {
                    // alpha > 0 keeps the matrix positive definite; a non-positive pivot means rounding broke that.
                    l[i, i] = Math.Sqrt(Math.Max(sum, alpha * 1e-12));
                }
                else
                {
                    l[i, j] = sum / l[j, j];
                }
            }
        }

        // L^-1 by forward substitution, then (L L^T)^-1 = L^-T L^-1.
        var inv = new double[n, n];
        for (var c = 0; c < n; c++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            for (var i = c; i < n; i++)
            {
                var sum = i == c ? 1.0 : 0.0;
                for (var r = c; r < i; r++)
                {
                    sum -= l[i, r] * inv[r, c];
                }

                inv[i, c] = sum / l[i, i];
            }
        }

        var result = new double[n, n];
        for (var i = 0; i < n; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            for (var j = 0; j <= i; j++)
            {
                double sum = 0;
                for (var r = i; r < n; r++)
                {
                    sum += inv[r, i] * inv[r, j];
                }

                result[i, j] = result[j, i] = sum;
            }
        }

        return result;
    }

    private static double[,] Multiply(double[,] a, double[,] b)
    {
        int n = a.GetLength(0), m = a.GetLength(1), k = b.GetLength(1);
        var c = new double[n, k];
        for (var i = 0; i < n; i++)
        {
            for (var r = 0; r < m; r++)
            {
                var v = a[i, r];
                for (var j = 0; j < k; j++)
                {
                    c[i, j] += v * b[r, j];
                }
            }
        }

        return c;
    }
}
