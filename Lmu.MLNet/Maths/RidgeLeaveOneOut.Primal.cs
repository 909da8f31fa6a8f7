namespace Lmu.MLNet.Maths;

/// <summary>The primal form: factors the features' p x p Gram matrix.</summary>
internal static partial class RidgeLeaveOneOut
{
    /// <summary>Rows whose hat values are computed together, so that each row of X is read once per block, not once per row.</summary>
    private const int HatBlock = 64;

    /// <summary>
    /// Adds <c>(X z_i)_f^2</c> over every f to <c>hat[b]</c> for rows i = start + b: four rows of X with two rows of z at a
    /// time over the shortest row's span (<see cref="DenseKernels.Tile4x2"/>), then the longer rows' last one to three
    /// terms. One dot product at a time loaded a row of X and a row of z for every multiply-add, and these products (n p^2
    /// / 2 per penalty) were the primal form's whole time: 20,000 rows of 1,000 features took 33 s.
    /// </summary>
    private static void AddHatBlock(double[] x, int p, IReadOnlyList<double[]> z, int start, int count, double[] hat)
    {
        var tile = new double[8];
        var f = 0;
        for (; f + 4 <= p; f += 4)
        {
            var span = f + 1;
            var a0 = x.AsSpan(f * p, span);
            var a1 = x.AsSpan((f + 1) * p, span);
            var a2 = x.AsSpan((f + 2) * p, span);
            var a3 = x.AsSpan((f + 3) * p, span);
            var b = 0;
            for (; b + 2 <= count; b += 2)
            {
                double[] z0 = z[start + b], z1 = z[start + b + 1];
                Array.Clear(tile);
                DenseKernels.Tile4x2(a0, a1, a2, a3, z0.AsSpan(0, span), z1.AsSpan(0, span), tile, 0, 2);
                for (var r = 0; r < 4; r++)
                {
                    double v0 = tile[2 * r], v1 = tile[(2 * r) + 1];
                    // Row f + r of X has r more entries than row f: columns f + 1 .. f + r.
                    for (var j = f + 1; j <= f + r; j++)
                    {
                        var xj = x[((f + r) * p) + j];
                        v0 += xj * z0[j];
                        v1 += xj * z1[j];
                    }

                    hat[b] += v0 * v0;
                    hat[b + 1] += v1 * v1;
                }
            }

            for (; b < count; b++)
            {
                for (var r = 0; r < 4; r++)
                {
                    var v = DenseKernels.Dot(x.AsSpan((f + r) * p, f + r + 1), z[start + b]);
                    hat[b] += v * v;
                }
            }
        }

        for (; f < p; f++)
        {
            var row = x.AsSpan(f * p, f + 1);
            for (var b = 0; b < count; b++)
            {
                var v = DenseKernels.Dot(row, z[start + b]);
                hat[b] += v * v;
            }
        }
    }

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
                AddHatBlock(work, p, z, start, count, hat);

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
