using System.Numerics;

namespace Lmu.MLNet.Maths;

/// <summary>
/// The Cholesky factor and the lower-triangular inverse, in blocks. Row by row, each of them streams every earlier row
/// of the matrix once per row (<c>n^3 / 6</c> values from memory), and at n = 5,000 (200 MB a matrix) the ridge's ten
/// penalties took most of a 6-minute <c>lmu classify</c>; in blocks each value read from memory serves many products.
/// </summary>
internal static partial class DenseKernels
{
    /// <summary>Rows (and columns) of one block of the Cholesky factor.</summary>
    private const int FactorBlock = 64;

    /// <summary>Values of a row pair's dot product taken at a time, so that a block's spans stay in the core's caches.</summary>
    private const int FactorSpan = 512;

    /// <summary>Rows of <c>L^-T</c> computed together: each row of L read serves all of them.</summary>
    private const int InverseGroup = 32;

    /// <summary>
    /// Overwrites the lower triangle of <paramref name="m"/> (<c>[n, n]</c>, symmetric positive semi-definite, its lower
    /// triangle read) with the Cholesky factor L of <c>m + shift I</c>; the upper triangle is not touched.
    /// <paramref name="shift"/> &gt; 0 keeps the matrix positive definite; a pivot that rounding drives to zero or below
    /// is held at <c>shift * 1e-12</c>. Block row by block row (left-looking): a block's products with the columns
    /// before it are 4 x 2 tiles over spans of those columns, then its own columns are finished entry by entry.
    /// </summary>
    public static void CholeskyInPlace(double[] m, int n, double shift, CancellationToken cancellationToken)
    {
        var all = m.AsSpan();
        for (var i0 = 0; i0 < n; i0 += FactorBlock)
        {
            var i1 = Math.Min(i0 + FactorBlock, n);
            for (var j0 = 0; j0 <= i0; j0 += FactorBlock)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var j1 = Math.Min(j0 + FactorBlock, n);
                SubtractBlockProducts(m, n, i0, i1, j0, j1);
                for (var i = i0; i < i1; i++)
                {
                    var rowI = all.Slice(i * n, n);
                    var end = Math.Min(j1, i);
                    for (var j = j0; j < end; j++)
                    {
                        rowI[j] = (rowI[j] - Dot(rowI[j0..j], all.Slice((j * n) + j0, j - j0))) / all[(j * n) + j];
                    }

                    if (j0 == i0)
                    {
                        var pivot = rowI[i] + shift - Dot(rowI[i0..i], rowI[i0..i]);
                        rowI[i] = Math.Sqrt(Math.Max(pivot, shift * 1e-12));
                    }
                }
            }
        }
    }

    /// <summary>
    /// Subtracts from <c>m[i, j]</c> (i in [i0, i1), j in [j0, j1), j &lt;= i) the dot product of rows i and j over the
    /// finished columns [0, j0): every entry a tile covers lies below the diagonal, the rest are single dot products.
    /// </summary>
    private static void SubtractBlockProducts(double[] m, int n, int i0, int i1, int j0, int j1)
    {
        var all = m.AsSpan();
        for (var k0 = 0; k0 < j0; k0 += FactorSpan)
        {
            var width = Math.Min(FactorSpan, j0 - k0);
            for (var ig = i0; ig < i1; ig += 4)
            {
                var rows = Math.Min(4, i1 - ig);

                // Tiles where both columns lie below the group's first row (all of them off the diagonal block).
                var tileEnd = rows == 4 ? Math.Min(j1, ig) : j0;
                var j = j0;
                if (rows == 4)
                {
                    var a0 = all.Slice((ig * n) + k0, width);
                    var a1 = all.Slice(((ig + 1) * n) + k0, width);
                    var a2 = all.Slice(((ig + 2) * n) + k0, width);
                    var a3 = all.Slice(((ig + 3) * n) + k0, width);
                    for (; j + 1 < tileEnd; j += 2)
                    {
                        Tile4x2(a0, a1, a2, a3, all.Slice((j * n) + k0, width), all.Slice(((j + 1) * n) + k0, width), m, (ig * n) + j, n, -1);
                    }
                }

                for (var i = ig; i < ig + rows; i++)
                {
                    var a = all.Slice((i * n) + k0, width);
                    var last = Math.Min(j1 - 1, i);
                    for (var c = j; c <= last; c++)
                    {
                        m[(i * n) + c] -= Dot(a, all.Slice((c * n) + k0, width));
                    }
                }
            }
        }
    }

    /// <summary>
    /// Overwrites the lower triangle of <paramref name="l"/> (<c>[n, n]</c>, lower triangular with a positive diagonal)
    /// with <c>X = L^-1</c>; the upper triangle is not touched. Column c of X is row c of <c>U = L^-T</c>, which
    /// satisfies <c>U[c, i] = -(sum_{c &lt;= r &lt; i} L[i, r] U[c, r]) / L[i, i]</c>: rows of U do not depend on each
    /// other, so <see cref="InverseGroup"/> of them are built together in a scratch block (zeros before each row's
    /// diagonal, so that all of them dot the same span of L's row i), then written into their columns of X. The columns
    /// of L that a group overwrites are read by no later group.
    /// </summary>
    public static void LowerInverseInPlace(double[] l, int n, CancellationToken cancellationToken)
    {
        var all = l.AsSpan();
        var u = new double[(long)Math.Min(InverseGroup, n) * n];
        var sums = new double[4];
        for (var c0 = 0; c0 < n; c0 += InverseGroup)
        {
            var g = Math.Min(InverseGroup, n - c0);
            Array.Clear(u);
            for (var i = c0; i < n; i++)
            {
                if (((i - c0) & 63) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                var span = all.Slice((i * n) + c0, i - c0);
                var inverse = 1 / all[(i * n) + i];
                var below = Math.Min(g, i - c0);
                var q = 0;
                for (; q + 4 <= below; q += 4)
                {
                    Dot1x4(span, u.AsSpan((q * n) + c0, i - c0), u.AsSpan(((q + 1) * n) + c0, i - c0), u.AsSpan(((q + 2) * n) + c0, i - c0), u.AsSpan(((q + 3) * n) + c0, i - c0), sums);
                    for (var r = 0; r < 4; r++)
                    {
                        u[((q + r) * n) + i] = -sums[r] * inverse;
                    }
                }

                for (; q < below; q++)
                {
                    u[(q * n) + i] = -Dot(span, u.AsSpan((q * n) + c0, i - c0)) * inverse;
                }

                if (i - c0 < g)
                {
                    u[((i - c0) * n) + i] = inverse;
                }
            }

            for (var r = c0; r < n; r++)
            {
                var row = all.Slice((r * n) + c0, Math.Min(g, r - c0 + 1));
                for (var q = 0; q < row.Length; q++)
                {
                    row[q] = u[(q * n) + r];
                }
            }
        }
    }

    /// <summary>The dot products of <paramref name="a"/> with b0..b3 (all of a's length) into <paramref name="sums"/>.</summary>
    private static void Dot1x4(ReadOnlySpan<double> a, ReadOnlySpan<double> b0, ReadOnlySpan<double> b1, ReadOnlySpan<double> b2, ReadOnlySpan<double> b3, double[] sums)
    {
        var width = Vector<double>.Count;
        Vector<double> s0 = default, s1 = default, s2 = default, s3 = default;
        var i = 0;
        for (; i <= a.Length - width; i += width)
        {
            var v = new Vector<double>(a.Slice(i, width));
            s0 += v * new Vector<double>(b0.Slice(i, width));
            s1 += v * new Vector<double>(b1.Slice(i, width));
            s2 += v * new Vector<double>(b2.Slice(i, width));
            s3 += v * new Vector<double>(b3.Slice(i, width));
        }

        double t0 = Vector.Sum(s0), t1 = Vector.Sum(s1), t2 = Vector.Sum(s2), t3 = Vector.Sum(s3);
        for (; i < a.Length; i++)
        {
            t0 += a[i] * b0[i];
            t1 += a[i] * b1[i];
            t2 += a[i] * b2[i];
            t3 += a[i] * b3[i];
        }

        sums[0] = t0;
        sums[1] = t1;
        sums[2] = t2;
        sums[3] = t3;
    }
}
