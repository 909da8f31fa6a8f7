using Lmu.MLNet.Maths;
using Lmu.MLNet.Network;

namespace Lmu.MLNet.Onnx;

/// <summary>
/// The constants of one block of <see cref="LmuOnnxRecurrentBlockedLayer"/> (Lb steps), formed in float64 from the
/// spec and rounded once. Row vectors throughout, M = MemoryD q, C = InputSize, D = MemoryD:
/// <code>
/// m_t = m_{t-1} A' + (x_t Ex + bu + h_{t-1} Eh) B       A' = blockdiag(Ad^T) + Em B (the memory-to-memory encoder folded in)
/// F_s = B A'^s [D, M]                                     a drive's share of the memory s steps later
/// </code>
/// where B [D, M] puts Bd in channel k's columns. Z = W_m [M, G units] are the hidden cell's memory rows (G = 4 gates for an LSTM, else 1).
/// </summary>
internal sealed class LmuOnnxRecurrentBlockMatrices
{
    /// <summary>Steps in the block (Lb).</summary>
    public required int Length { get; init; }

    /// <summary>[M, Lb units]: column block j is A'^(j+1) Z, step j's share of the memory before the block.</summary>
    public required float[] Start { get; init; }

    /// <summary>
    /// [Lb C, Lb units]: block (i, j) is Ex F_(j-i) Z for j &gt;= i (input i's share of step j's memory term), plus W_x
    /// on the diagonal when x_t also reaches the cell; zero for j &lt; i.
    /// </summary>
    public required float[] Inputs { get; init; }

    /// <summary>[Lb units]: block j is b_ih + b_hh + bu sum_{s&lt;=j} F_s Z.</summary>
    public required float[] Constant { get; init; }

    /// <summary>
    /// Per step j, [(j+1) D, units]: row block i is F_(j-i) Z, the recurrent drive r_i = h_{i-1} Eh's share of step j's
    /// memory term; null without a hidden-to-memory encoder.
    /// </summary>
    public float[][]? Recurrent { get; init; }

    /// <summary>A'^Lb [M, M].</summary>
    public required float[] EndPower { get; init; }

    /// <summary>[Lb C, M]: block i is Ex F_(Lb-1-i).</summary>
    public required float[] EndInputs { get; init; }

    /// <summary>[Lb D, M]: block i is F_(Lb-1-i); null without a hidden-to-memory encoder.</summary>
    public float[]? EndRecurrent { get; init; }

    /// <summary>[M]: bu sum_{s&lt;Lb} F_s; null without a memory bias.</summary>
    public float[]? EndConstant { get; init; }

    /// <summary>Forms the constants of a block of <paramref name="length"/> steps from <paramref name="p"/>'s powers.</summary>
    public static LmuOnnxRecurrentBlockMatrices Create(LmuLayerSpec l, LmuOnnxRecurrentBlockPowers p, int length)
    {
        // "units" here are Z's columns: G units (an LSTM's four gates), the width of every step's cell input.
        int m = p.M, c = l.InputSize, d = l.MemoryD, units = l.HiddenInput!.Out;
        var w = l.HiddenInput!.W;

        var start = new float[(long)m * length * units];
        for (var j = 0; j < length; j++)
        {
            Place(start, length * units, 0, j * units, p.PowerTimesZ[j + 1], m, units);
        }

        // Ex F_s Z [C, units] and Ex F_s [C, M] for every lag (Ex is the identity when the layer has none).
        var exfz = new double[length][];
        var exf = new double[length][];
        for (var s = 0; s < length; s++)
        {
            exfz[s] = EncodeRows(l, p.FZ[s], units);
            exf[s] = EncodeRows(l, p.F[s], m);
        }

        var inputs = new float[(long)length * c * length * units];
        for (var i = 0; i < length; i++)
        {
            for (var j = i; j < length; j++)
            {
                Place(inputs, length * units, i * c, j * units, exfz[j - i], c, units);
            }

            if (l.InputToHidden)
            {
                for (var r = 0; r < c; r++)
                {
                    for (var u = 0; u < units; u++)
                    {
                        inputs[(long)(i * c + r) * length * units + i * units + u] += w[(m + r) * units + u];
                    }
                }
            }
        }

        var constant = new float[length * units];
        var running = new double[units];
        for (var u = 0; u < units; u++)
        {
            // b_hh only for a recurrent cell: a Dense cell has no recurrent weights (the Scan form ignores any it carries).
            running[u] = (l.HiddenInput.B?[u] ?? 0) + (l.Hidden is HiddenCell.SimpleRnn or HiddenCell.Lstm ? l.HiddenRecurrent?.B?[u] ?? 0 : 0);
        }

        for (var j = 0; j < length; j++)
        {
            if (l.Bu is not null)
            {
                AddRowCombination(running, l.Bu, p.FZ[j], units);
            }

            for (var u = 0; u < units; u++)
            {
                constant[j * units + u] = (float)running[u];
            }
        }

        float[][]? recurrent = null;
        float[]? endRecurrent = null;
        if (l.Eh is not null)
        {
            recurrent = new float[length][];
            for (var j = 0; j < length; j++)
            {
                recurrent[j] = new float[(j + 1) * d * units];
                for (var i = 0; i <= j; i++)
                {
                    Place(recurrent[j], units, i * d, 0, p.FZ[j - i], d, units);
                }
            }

            endRecurrent = new float[length * d * m];
            for (var i = 0; i < length; i++)
            {
                Place(endRecurrent, m, i * d, 0, p.F[length - 1 - i], d, m);
            }
        }

        var endInputs = new float[length * c * m];
        for (var i = 0; i < length; i++)
        {
            Place(endInputs, m, i * c, 0, exf[length - 1 - i], c, m);
        }

        float[]? endConstant = null;
        if (l.Bu is not null)
        {
            var sum = new double[m];
            for (var s = 0; s < length; s++)
            {
                AddRowCombination(sum, l.Bu, p.F[s], m);
            }

            endConstant = Array.ConvertAll(sum, v => (float)v);
        }

        return new LmuOnnxRecurrentBlockMatrices
        {
            Length = length, Start = start, Inputs = inputs, Constant = constant, Recurrent = recurrent,
            EndPower = Array.ConvertAll(p.Power(length), v => (float)v), EndInputs = endInputs, EndRecurrent = endRecurrent,
            EndConstant = endConstant,
        };
    }

    // Ex [C, D] times a [D, width] matrix (the matrix itself when the layer has no encoder: u_t = x_t, C = D).
    private static double[] EncodeRows(LmuLayerSpec l, double[] rows, int width) =>
        l.Ex is null ? rows : SquareMatrix.Multiply(Array.ConvertAll(l.Ex, v => (double)v), l.InputSize, l.MemoryD, rows, width);

    // target += weights [1, D] times rows [D, width].
    private static void AddRowCombination(double[] target, float[] weights, double[] rows, int width)
    {
        var combination = SquareMatrix.Multiply(Array.ConvertAll(weights, v => (double)v), 1, weights.Length, rows, width);
        for (var u = 0; u < width; u++)
        {
            target[u] += combination[u];
        }
    }

    // Writes a row-major [rows, cols] block into a row-major matrix of `stride` columns at (row0, col0).
    private static void Place(float[] target, int stride, int row0, int col0, double[] block, int rows, int cols)
    {
        for (var r = 0; r < rows; r++)
        {
            for (var u = 0; u < cols; u++)
            {
                target[(long)(row0 + r) * stride + col0 + u] = (float)block[r * cols + u];
            }
        }
    }
}
