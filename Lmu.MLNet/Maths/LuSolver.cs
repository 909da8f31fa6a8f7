namespace Lmu.MLNet.Maths;

/// <summary>
/// Solves <c>A X = B</c> for square <c>A</c> and several right-hand sides by LU factorisation with partial
/// (row) pivoting, which keeps the multipliers at most 1 in magnitude and so bounds the growth of rounding errors.
/// </summary>
internal static class LuSolver
{
    /// <summary>Returns <c>X = A^-1 B</c>; <paramref name="a"/> and <paramref name="b"/> are <c>n x n</c>, row-major, and are overwritten.</summary>
    /// <exception cref="InvalidOperationException">A pivot is exactly zero, so <paramref name="a"/> is singular.</exception>
    internal static double[] SolveInPlace(double[] a, double[] b, int n)
    {
        for (var k = 0; k < n; k++)
        {
            var pivotRow = k;
            var pivotAbs = Math.Abs(a[k * n + k]);
            for (var i = k + 1; i < n; i++)
            {
                var candidate = Math.Abs(a[i * n + k]);
                if (candidate > pivotAbs)
                {
                    pivotAbs = candidate;
                    pivotRow = i;
                }
            }

            if (pivotAbs == 0)
            {
                throw new InvalidOperationException("The matrix is singular to working precision.");
            }

            if (pivotRow != k)
            {
                // Swapping the same rows of the right-hand side applies the permutation as we go.
                SwapRows(a, n, k, pivotRow);
                SwapRows(b, n, k, pivotRow);
            }

            var pivot = a[k * n + k];
            var rowAk = a.AsSpan(k * n, n);
            var rowBk = b.AsSpan(k * n, n);
            for (var i = k + 1; i < n; i++)
            {
                var factor = a[i * n + k] / pivot;
                if (factor == 0)
                {
                    continue;
                }

                a[i * n + k] = 0;
                var rowAi = a.AsSpan(i * n, n);
                for (var j = k + 1; j < n; j++)
                {
                    rowAi[j] -= factor * rowAk[j];
                }

                // Eliminating in B alongside A is forward substitution with L done on the fly.
                var rowBi = b.AsSpan(i * n, n);
                for (var j = 0; j < n; j++)
                {
                    rowBi[j] -= factor * rowBk[j];
                }
            }
        }

        // Back substitution with the upper-triangular factor, one row of X at a time from the bottom.
        for (var i = n - 1; i >= 0; i--)
        {
            var rowBi = b.AsSpan(i * n, n);
            for (var k = i + 1; k < n; k++)
            {
                var uik = a[i * n + k];
                if (uik == 0)
                {
                    continue;
                }

                var rowXk = b.AsSpan(k * n, n);
                for (var j = 0; j < n; j++)
                {
                    rowBi[j] -= uik * rowXk[j];
                }
            }

            var diagonal = a[i * n + i];
            for (var j = 0; j < n; j++)
            {
                rowBi[j] /= diagonal;
            }
        }

        return b;
    }

    private static void SwapRows(double[] m, int n, int r1, int r2)
    {
        var row1 = m.AsSpan(r1 * n, n);
        var row2 = m.AsSpan(r2 * n, n);
        for (var j = 0; j < n; j++)
        {
            (row1[j], row2[j]) = (row2[j], row1[j]);
        }
    }
}
