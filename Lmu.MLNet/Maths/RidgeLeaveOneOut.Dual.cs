namespace Lmu.MLNet.Maths;

/// <summary>The dual form: factors the rows' n x n Gram matrix.</summary>
internal static partial class RidgeLeaveOneOut
{
    /// <summary>
    /// With <c>G = (Z Z^T + n alpha I)^-1 = X^T X</c>, <c>X = L^-1</c> for the Cholesky factor L: the dual coefficients
    /// are <c>c = G Y</c>, the residuals <c>n alpha c</c>, and <c>1 - H_ii = n alpha G_ii - 1/n</c>, so
    /// <c>e_i = c_i / (G_ii - 1/(n * n alpha))</c>; the weights are <c>Z^T c</c>. <c>G_ii</c> is the squared norm of
    /// column i of X, so G itself is never formed.
    /// <para>Centred rows make the ones vector a null vector of <c>Z Z^T</c>, so G's eigenvalue on it is
    /// <c>1/(n alpha)</c>: the term the formula subtracts. At a tiny alpha that subtraction cancels (review: 10 % off at
    /// alpha 1e-8, and the wrong penalty chosen). The factored matrix is therefore <c>Z Z^T + mu 11^T + n alpha I</c>,
    /// mu the mean squared row norm: the same inverse off the ones vector, whose eigenvalue becomes
    /// <c>1/(n mu + n alpha)</c>, so the subtracted term is small, and <c>c</c> is unchanged because the centred targets
    /// are orthogonal to the ones vector. Adding mu to every entry leaves the conditioning as it was (mu n is the
    /// trace of <c>Z Z^T</c>, at least its largest eigenvalue).</para>
    /// </summary>
    private static Result FitDual(IReadOnlyList<double[]> z, double[][] y, IReadOnlyList<double> alphas, CancellationToken cancellationToken, Action<int, double>? penaltyScored)
    {
        var n = z.Count;
        var k = y.Length;
        var gram = DenseKernels.LowerGram(z, cancellationToken);
        double trace = 0;
        for (var i = 0; i < n; i++)
        {
            trace += gram[((long)i * n) + i];
        }

        var shift = trace > 0 ? trace / n : 1;
        for (var i = 0; i < n; i++)
        {
            var row = gram.AsSpan(i * n, i + 1);
            for (var j = 0; j <= i; j++)
            {
                row[j] += shift;
            }
        }

        var work = new double[gram.Length];
        var diagonal = new double[n];
        var errors = new double[alphas.Count];
        double[][]? bestDual = null;
        var best = -1;
        for (var a = 0; a < alphas.Count; a++)
        {
            var penalty = n * alphas[a];
            Array.Copy(gram, work, gram.Length);
            DenseKernels.CholeskyInPlace(work, n, penalty, cancellationToken);
            DenseKernels.LowerInverseInPlace(work, n, cancellationToken);

            // One pass over X's rows: row r adds its squares to the column norms, gives (X y)_r, and adds that times the
            // row to X^T (X y).
            Array.Clear(diagonal);
            var dual = Zeros(k, n);

            for (var r = 0; r < n; r++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var row = work.AsSpan(r * n, r + 1);
                DenseKernels.AddSquares(row, diagonal);
                for (var c = 0; c < k; c++)
                {
                    DenseKernels.Axpy(DenseKernels.Dot(row, y[c]), row, dual[c]);
                }
            }

            var interceptShare = 1.0 / (n * (penalty + (n * shift)));
            double sum = 0;
            for (var i = 0; i < n; i++)
            {
                for (var c = 0; c < k; c++)
                {
                    var e = dual[c][i] / (diagonal[i] - interceptShare);
                    sum += e * e;
                }
            }

            if (Scored(a, sum / (n * k), errors, ref best, penaltyScored))
            {
                bestDual = dual;
            }
        }

        var p = z[0].Length;
        var weights = Zeros(k, p);

        for (var i = 0; i < n; i++)
        {
            for (var c = 0; c < k; c++)
            {
                DenseKernels.Axpy(bestDual![c][i], z[i], weights[c]);
            }
        }

        return new Result(alphas[best], Weights(weights, p), errors);
    }
}
