namespace Lmu.MLNet.Maths;

/// <summary>The primal form: factors the features' p x p Gram matrix.</summary>
internal static partial class RidgeLeaveOneOut
{
    /// <summary>Rows whose hat values are computed together, so that each row of X is read once per block, not once per row.</summary>
    private const int HatBlock = 64;

    /// <summary>
    /// With <c>(Z^T Z + n alpha I)^-1 = X^T X</c>, <c>X = L^-1</c> for the Cholesky factor L: the weights are
    /// <c>X^T X Z^T Y</c>, and row i's share of the hat diagonal beyond the intercept's 1/n is <c>|X z_i|^2</c>.
    /// </summary>
    private static Result FitPrimal(IReadOnlyList<double[]> z, double[][] y, IReadOnlyList<double> alphas, CancellationToken cancellationToken, Action<int, double>? penaltyScored)
    {
        var n = z.Count;
        var p = z[0].Length;
        var k = y.Length;
        var gram = DenseKernels.LowerGramOfColumns(z, cancellationToken);
        var zty = Zeros(k, p);

        for (var i = 0; i < n; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            for (var c = 0; c < k; c++)
            {
                DenseKernels.Axpy(y[c][i], z[i], zty[c]);
            }
        }

        var work = new double[gram.Length];
        var hat = new double[HatBlock];
        var errors = new double[alphas.Count];
        double[][]? bestWeights = null;
        var best = -1;
        for (var a = 0; a < alphas.Count; a++)
        {
            Array.Copy(gram, work, gram.Length);
            DenseKernels.CholeskyInPlace(work, p, n * alphas[a], cancellationToken);
            DenseKernels.LowerInverseInPlace(work, p, cancellationToken);

            var weights = Zeros(k, p);

            for (var f = 0; f < p; f++)
            {
                var row = work.AsSpan(f * p, f + 1);
                for (var c = 0; c < k; c++)
                {
                    DenseKernels.Axpy(DenseKernels.Dot(row, zty[c]), row, weights[c]);
                }
            }

            double sum = 0;
            for (var start = 0; start < n; start += HatBlock)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var count = Math.Min(HatBlock, n - start);
                Array.Clear(hat);
                for (var f = 0; f < p; f++)
                {
                    var row = work.AsSpan(f * p, f + 1);
                    for (var b = 0; b < count; b++)
                    {
                        var v = DenseKernels.Dot(row, z[start + b]);
                        hat[b] += v * v;
                    }
                }

                for (var b = 0; b < count; b++)
                {
                    var i = start + b;
                    var leverage = 1 - (1.0 / n) - hat[b];
                    for (var c = 0; c < k; c++)
                    {
                        var e = (y[c][i] - DenseKernels.Dot(z[i], weights[c])) / leverage;
                        sum += e * e;
                    }
                }
            }

            if (Scored(a, sum / (n * k), errors, ref best, penaltyScored))
            {
                bestWeights = weights;
            }
        }

        return new Result(alphas[best], Weights(bestWeights!, p), errors);
    }
}
