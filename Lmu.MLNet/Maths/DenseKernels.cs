using System.Numerics;

namespace Lmu.MLNet.Maths;

/// <summary>
/// The float64 dense kernels of the leave-one-out ridge: vector dot products and updates, the lower triangle of a Gram
/// matrix, a Cholesky factor and a lower-triangular inverse, on row-major flat arrays. Every inner loop runs over
/// contiguous memory in <see cref="Vector{T}"/> lanes: with the two-dimensional, column-strided scalar loops they
/// replace, a ridge of 2,400 rows of 10,000 features took 46-48 s, with these 10 s (2-core Intel Xeon VM, 2026-12-07).
/// </summary>
internal static partial class DenseKernels
{
    /// <summary><c>a . b</c> over the common length.</summary>
    public static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        var length = Math.Min(a.Length, b.Length);
        var width = Vector<double>.Count;
        // Two accumulators keep two independent add chains in flight.
        Vector<double> acc0 = Vector<double>.Zero, acc1 = Vector<double>.Zero;
        var i = 0;
        for (; i <= length - (2 * width); i += 2 * width)
        {
            acc0 += new Vector<double>(a.Slice(i, width)) * new Vector<double>(b.Slice(i, width));
            acc1 += new Vector<double>(a.Slice(i + width, width)) * new Vector<double>(b.Slice(i + width, width));
        }

        var sum = Vector.Sum(acc0 + acc1);
        for (; i < length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    /// <summary><c>y += alpha x</c> over <paramref name="x"/>'s length.</summary>
    public static void Axpy(double alpha, ReadOnlySpan<double> x, Span<double> y)
    {
        var width = Vector<double>.Count;
        var a = new Vector<double>(alpha);
        var i = 0;
        for (; i <= x.Length - width; i += width)
        {
            (new Vector<double>(y.Slice(i, width)) + (a * new Vector<double>(x.Slice(i, width)))).CopyTo(y.Slice(i, width));
        }

        for (; i < x.Length; i++)
        {
            y[i] += alpha * x[i];
        }
    }

    /// <summary><c>y[i] += x[i]^2</c> over <paramref name="x"/>'s length.</summary>
    public static void AddSquares(ReadOnlySpan<double> x, Span<double> y)
    {
        var width = Vector<double>.Count;
        var i = 0;
        for (; i <= x.Length - width; i += width)
        {
            var v = new Vector<double>(x.Slice(i, width));
            (new Vector<double>(y.Slice(i, width)) + (v * v)).CopyTo(y.Slice(i, width));
        }

        for (; i < x.Length; i++)
        {
            y[i] += x[i] * x[i];
        }
    }

    /// <summary>Row <paramref name="index"/> of a matrix whose rows are stored apart or in one array.</summary>
    public delegate ReadOnlySpan<double> RowOf(int index);

    /// <summary>
    /// The lower triangle (row-major, <c>[n, n]</c>) of <c>R R^T</c> for the n rows <paramref name="rows"/>; the upper
    /// triangle stays zero. <paramref name="cancellationToken"/> is checked once per block of rows.
    /// </summary>
    public static double[] LowerGram(IReadOnlyList<double[]> rows, CancellationToken cancellationToken)
    {
        var n = rows.Count;
        var gram = new double[(long)n * n];
        AddLowerGram(i => rows[i], n, rows[0].Length, gram, cancellationToken);
        return gram;
    }

    /// <summary>
    /// The lower triangle (row-major, <c>[p, p]</c>) of <c>R^T R</c> for the n rows <paramref name="rows"/> of p values:
    /// the rows are transposed a block at a time, so that each entry's share of a block is a contiguous dot product.
    /// <paramref name="cancellationToken"/> is checked once per block of output rows of each block.
    /// </summary>
    public static double[] LowerGramOfColumns(IReadOnlyList<double[]> rows, CancellationToken cancellationToken)
    {
        const int Block = 256;
        var n = rows.Count;
        var p = rows[0].Length;
        var gram = new double[(long)p * p];
        var transposed = new double[(long)p * Math.Min(Block, n)];
        for (var start = 0; start < n; start += Block)
        {
            var b = Math.Min(Block, n - start);
            for (var r = 0; r < b; r++)
            {
                var row = rows[start + r];
                for (var f = 0; f < p; f++)
                {
                    transposed[(f * b) + r] = row[f];
                }
            }

            AddLowerGram(f => transposed.AsSpan(f * b, b), p, b, gram, cancellationToken);
        }

        return gram;
    }

    /// <summary>
    /// Adds the lower triangle of <c>R R^T</c> (<paramref name="count"/> rows of <paramref name="length"/> values) to
    /// <paramref name="gram"/> (<c>[count, count]</c>, row-major). Four rows are dotted with two others at a time over a
    /// span of the values, so that each value loaded serves several products: a single dot product per pair loads both
    /// rows for every multiply-add, and a 2,400-row Gram matrix of 10,000 features took 10.5 s that way. The two others
    /// come from a block of <see cref="GramBlock"/> rows whose spans stay in the core's cache while every later row's
    /// span passes them: taken from all earlier rows instead, a 5,000-row matrix streamed its rows from memory once per
    /// four rows and ran at about a third of the speed.
    /// </summary>
    private static void AddLowerGram(RowOf rows, int count, int length, double[] gram, CancellationToken cancellationToken)
    {
        for (var c0 = 0; c0 < length; c0 += GramSpan)
        {
            var width = Math.Min(GramSpan, length - c0);
            for (var j0 = 0; j0 < count; j0 += GramBlock)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var j1 = Math.Min(j0 + GramBlock, count);
                for (var ig = j0; ig < count; ig += 4)
                {
                    var groupRows = Math.Min(4, count - ig);

                    // Tiles where both columns lie below the group's first row; the block's own triangle and a short
                    // last group are single dot products.
                    var tileEnd = groupRows == 4 ? Math.Min(j1, ig) : j0;
                    var j = j0;
                    if (groupRows == 4)
                    {
                        var a0 = rows(ig).Slice(c0, width);
                        var a1 = rows(ig + 1).Slice(c0, width);
                        var a2 = rows(ig + 2).Slice(c0, width);
                        var a3 = rows(ig + 3).Slice(c0, width);
                        for (; j + 1 < tileEnd; j += 2)
                        {
                            Tile4x2(a0, a1, a2, a3, rows(j).Slice(c0, width), rows(j + 1).Slice(c0, width), gram, (ig * count) + j, count);
                        }
                    }

                    for (var i = ig; i < ig + groupRows; i++)
                    {
                        var a = rows(i).Slice(c0, width);
                        var last = Math.Min(j1 - 1, i);
                        for (var c = j; c <= last; c++)
                        {
                            gram[(i * count) + c] += Dot(a, rows(c).Slice(c0, width));
                        }
                    }
                }
            }
        }
    }

    /// <summary>Rows of a Gram matrix's block (a multiple of 4): their spans, 256 KB, stay in a core's second-level cache.</summary>
    private const int GramBlock = 128;

    /// <summary>Values of each row taken at a time by <see cref="AddLowerGram"/>.</summary>
    private const int GramSpan = 256;

    /// <summary>Adds <paramref name="sign"/> times the 4 x 2 dot products of a0..a3 with b0, b1 to gram[at + r * stride + s].</summary>
    internal static void Tile4x2(
        ReadOnlySpan<double> a0, ReadOnlySpan<double> a1, ReadOnlySpan<double> a2, ReadOnlySpan<double> a3,
        ReadOnlySpan<double> b0, ReadOnlySpan<double> b1, double[] gram, int at, int stride, double sign = 1)
    {
        var width = Vector<double>.Count;
        Vector<double> s00 = default, s01 = default, s10 = default, s11 = default, s20 = default, s21 = default, s30 = default, s31 = default;
        var i = 0;
        for (; i <= a0.Length - width; i += width)
        {
            var x0 = new Vector<double>(b0.Slice(i, width));
            var x1 = new Vector<double>(b1.Slice(i, width));
            var v = new Vector<double>(a0.Slice(i, width));
            s00 += v * x0;
            s01 += v * x1;
            v = new Vector<double>(a1.Slice(i, width));
            s10 += v * x0;
            s11 += v * x1;
            v = new Vector<double>(a2.Slice(i, width));
            s20 += v * x0;
            s21 += v * x1;
            v = new Vector<double>(a3.Slice(i, width));
            s30 += v * x0;
            s31 += v * x1;
        }

        double t00 = Vector.Sum(s00), t01 = Vector.Sum(s01), t10 = Vector.Sum(s10), t11 = Vector.Sum(s11);
        double t20 = Vector.Sum(s20), t21 = Vector.Sum(s21), t30 = Vector.Sum(s30), t31 = Vector.Sum(s31);
        for (; i < a0.Length; i++)
        {
            t00 += a0[i] * b0[i];
            t01 += a0[i] * b1[i];
            t10 += a1[i] * b0[i];
            t11 += a1[i] * b1[i];
            t20 += a2[i] * b0[i];
            t21 += a2[i] * b1[i];
            t30 += a3[i] * b0[i];
            t31 += a3[i] * b1[i];
        }

        gram[at] += sign * t00;
        gram[at + 1] += sign * t01;
        gram[at + stride] += sign * t10;
        gram[at + stride + 1] += sign * t11;
        gram[at + (2 * stride)] += sign * t20;
        gram[at + (2 * stride) + 1] += sign * t21;
        gram[at + (3 * stride)] += sign * t30;
        gram[at + (3 * stride) + 1] += sign * t31;
    }
}
