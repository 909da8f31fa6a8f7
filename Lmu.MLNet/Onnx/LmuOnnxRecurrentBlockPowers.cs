using Lmu.MLNet.Maths;
using Lmu.MLNet.Network;

namespace Lmu.MLNet.Onnx;

/// <summary>
/// The float64 powers that <see cref="LmuOnnxRecurrentBlockMatrices"/> are cut from, for blocks of up to
/// <c>length</c> steps (row vectors, see there): A' with the memory-to-memory encoder folded in, A'^s Z, F_s = B A'^s
/// and F_s Z.
/// </summary>
internal sealed class LmuOnnxRecurrentBlockPowers
{
    // A'^(2^k) for k = 0, 1, ...: formed as Power needs them.
    private readonly List<double[]> _squares;

    private LmuOnnxRecurrentBlockPowers(int m, double[] a, double[][] powerTimesZ, double[][] f, double[][] fz)
    {
        M = m;
        _squares = [a];
        PowerTimesZ = powerTimesZ;
        F = f;
        FZ = fz;
    }

    /// <summary>Memory width M = MemoryD q.</summary>
    public int M { get; }

    /// <summary>A'^s Z [M, G units] for s = 0..length.</summary>
    public double[][] PowerTimesZ { get; }

    /// <summary>F_s = B A'^s [D, M] for s &lt; length.</summary>
    public double[][] F { get; }

    /// <summary>F_s Z [D, G units] for s &lt; length.</summary>
    public double[][] FZ { get; }

    /// <summary>
    /// A'^s [M, M] (s &gt;= 1), by squaring: the squares A'^(2^k) are kept, so the whole block's power and the last,
    /// shorter block's share them (M^3 multiply-adds each).
    /// </summary>
    public double[] Power(int s)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(s, 1);
        double[]? result = null;
        for (int e = s, k = 0; e > 0; e >>= 1, k++)
        {
            if (k == _squares.Count)
            {
                _squares.Add(Multiply(_squares[k - 1], M, M, _squares[k - 1], M));
            }

            if ((e & 1) == 1)
            {
                result = result is null ? _squares[k] : Multiply(result, M, M, _squares[k], M);
            }
        }

        return result!;
    }

    /// <summary>Forms the powers for blocks of up to <paramref name="length"/> steps.</summary>
    public static LmuOnnxRecurrentBlockPowers Create(LmuLayerSpec l, int length)
    {
        // Z's columns: the cell's input width, G units (an LSTM's four gates, else the units).
        int q = l.Order, d = l.MemoryD, m = d * q, units = l.HiddenInput!.Out;
        var a = Transition(l);

        // Z: the cell's memory rows, [M, G units].
        var z = new double[m * units];
        for (var i = 0; i < z.Length; i++)
        {
            z[i] = l.HiddenInput!.W[i];
        }

        var powerTimesZ = new double[length + 1][];
        powerTimesZ[0] = z;
        for (var s = 1; s <= length; s++)
        {
            powerTimesZ[s] = Multiply(a, m, m, powerTimesZ[s - 1], units);
        }

        // F_0 = B: Bd in channel k's columns of row k.
        var f = new double[length][];
        f[0] = new double[d * m];
        for (var k = 0; k < d; k++)
        {
            for (var i = 0; i < q; i++)
            {
                f[0][k * m + k * q + i] = l.Bd[i];
            }
        }

        for (var s = 1; s < length; s++)
        {
            f[s] = Multiply(f[s - 1], d, m, a, m);
        }

        var fz = new double[length][];
        for (var s = 0; s < length; s++)
        {
            fz[s] = Multiply(f[s], d, m, z, units);
        }

        return new LmuOnnxRecurrentBlockPowers(m, a, powerTimesZ, f, fz);
    }

    /// <summary>
    /// A' [M, M], row (k, j), column (k', i): Ad[i, j] when k = k' (m_t[k,:] = Ad m_{t-1}[k,:] as a row vector), plus
    /// Em[(k, j), k'] Bd[i] (the memory-to-memory drive, which reads m_{t-1} and enters through Bd).
    /// </summary>
    private static double[] Transition(LmuLayerSpec l)
    {
        int q = l.Order, d = l.MemoryD, m = d * q;
        var a = new double[m * m];
        for (var k = 0; k < d; k++)
        {
            for (var j = 0; j < q; j++)
            {
                var row = (k * q + j) * m;
                for (var i = 0; i < q; i++)
                {
                    a[row + k * q + i] = l.Ad[i * q + j];
                }

                if (l.Em is null)
                {
                    continue;
                }

                for (var k2 = 0; k2 < d; k2++)
                {
                    var e = (double)l.Em[(k * q + j) * d + k2];
                    for (var i = 0; i < q; i++)
                    {
                        a[row + k2 * q + i] += e * l.Bd[i];
                    }
                }
            }
        }

        return a;
    }

    private static double[] Multiply(double[] x, int rows, int inner, double[] y, int cols) => SquareMatrix.Multiply(x, rows, inner, y, cols);
}
