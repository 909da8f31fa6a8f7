using Lmu.MLNet.Maths;
using Lmu.MLNet.Network;

namespace Lmu.MLNet.Onnx;

/// <summary>
/// The constants of <see cref="LmuOnnxBlockedLayer"/>, formed in float64 from the spec and rounded once (row vectors
/// throughout: m_t = m_{t-1} A^T + u_t H[0], H[s] = (A^s Bd)^T, W_m[k] the Dense kernel's rows of memory channel k).
/// </summary>
internal sealed class LmuOnnxBlockedMatrices
{
    /// <summary>[D q + L D, L units]: rows k q + r of column block j hold ((A^(j+1))^T W_m[k])[r]; rows D q + i D + k of
    /// column block j &gt;= i hold H[j-i] W_m[k] (the block's own inputs), zero for j &lt; i.</summary>
    public required float[] Wide { get; init; }

    /// <summary>(A^L)^T [q, q] row-major: carries a block's starting memory to the next block's.</summary>
    public required float[] PowerLTransposed { get; init; }

    /// <summary>[L, q]: row i is H[L-1-i], step i's share of the memory at the block's end.</summary>
    public required float[] BlockEnd { get; init; }

    /// <summary>b_ih + b_hh + the memory bias's response through W_m: [T, units], or [units] without a memory bias.</summary>
    public required float[] StepBias { get; init; }

    /// <summary>bu's share of the last memory, [D q] (bu[k] sum_{s&lt;T} H[s]), or null without a memory bias.</summary>
    public float[]? MemoryBias { get; init; }

    /// <summary>Forms the constants for T = <paramref name="steps"/> and blocks of <paramref name="block"/> steps.</summary>
    public static LmuOnnxBlockedMatrices Create(LmuLayerSpec l, int steps, int block)
    {
        int q = l.Order, d = l.MemoryD, units = l.Units;
        var w = l.HiddenInput!.W;                                    // [D q (+ C), units]
        var a = l.Ad;                                                // A, row-major [q, q]
        var h = LmuImpulseResponse.Compute(a, l.Bd, Math.Max(steps, block));   // row s = H[s]

        // (A^(j+1))^T W_m[k] = A^T ((A^j)^T W_m[k]): one A^T product per block step, from W_m[k].
        var wide = new float[(long)(d * q + block * d) * block * units];
        var cols = block * units;
        var current = new double[q * units];
        var next = new double[q * units];
        for (var k = 0; k < d; k++)
        {
            for (var r = 0; r < q; r++)
            {
                for (var u = 0; u < units; u++)
                {
                    current[r * units + u] = w[(k * q + r) * units + u];
                }
            }

            for (var j = 0; j < block; j++)
            {
                TransposeTimes(a, current, next, q, units);
                (current, next) = (next, current);
                for (var r = 0; r < q; r++)
                {
                    for (var u = 0; u < units; u++)
                    {
                        wide[(long)(k * q + r) * cols + j * units + u] = (float)current[r * units + u];
                    }
                }
            }
        }

        // H[s] W_m[k] for lags s < L (the block-Toeplitz part) and, with a memory bias, for every lag (its response).
        var lags = l.Bu is null ? block : Math.Max(steps, block);
        var hw = HTimesW(h, w, lags, q, d, units);                   // [lag, k, units]
        for (var i = 0; i < block; i++)
        {
            for (var k = 0; k < d; k++)
            {
                var row = (long)(d * q + i * d + k) * cols;
                for (var j = i; j < block; j++)
                {
                    for (var u = 0; u < units; u++)
                    {
                        wide[row + j * units + u] = (float)hw[((j - i) * d + k) * units + u];
                    }
                }
            }
        }

        var power = a;
        for (var p = 1; p < block; p++)
        {
            power = SquareMatrix.Multiply(power, a, q);
        }

        var powerT = new float[q * q];
        for (var r = 0; r < q; r++)
        {
            for (var col = 0; col < q; col++)
            {
                powerT[col * q + r] = (float)power[r * q + col];
            }
        }

        var end = new float[block * q];
        for (var i = 0; i < block; i++)
        {
            for (var r = 0; r < q; r++)
            {
                end[i * q + r] = (float)h[(block - 1 - i) * q + r];
            }
        }

        var (stepBias, memoryBias) = Biases(l, h, hw, steps, q, d, units);
        return new LmuOnnxBlockedMatrices { Wide = wide, PowerLTransposed = powerT, BlockEnd = end, StepBias = stepBias, MemoryBias = memoryBias };
    }

    private static (float[] Step, float[]? Memory) Biases(LmuLayerSpec l, double[] h, double[] hw, int steps, int q, int d, int units)
    {
        var constant = new double[units];
        for (var u = 0; u < units; u++)
        {
            constant[u] = (l.HiddenInput!.B?[u] ?? 0) + (l.HiddenRecurrent!.B?[u] ?? 0);
        }

        if (l.Bu is null)
        {
            return (Array.ConvertAll(constant, v => (float)v), null);
        }

        // Step t: constant + sum_k bu[k] sum_{s<=t} H[s] W_m[k], a running sum over lags.
        var step = new float[steps * units];
        var running = (double[])constant.Clone();
        for (var t = 0; t < steps; t++)
        {
            for (var k = 0; k < d; k++)
            {
                for (var u = 0; u < units; u++)
                {
                    running[u] += l.Bu[k] * hw[(t * d + k) * units + u];
                }
            }

            for (var u = 0; u < units; u++)
            {
                step[t * units + u] = (float)running[u];
            }
        }

        var memory = new float[d * q];
        for (var k = 0; k < d; k++)
        {
            for (var r = 0; r < q; r++)
            {
                double sum = 0;
                for (var s = 0; s < steps; s++)
                {
                    sum += h[s * q + r];
                }

                memory[k * q + r] = (float)(l.Bu[k] * sum);
            }
        }

        return (step, memory);
    }

    // [lags, D, units]: H[s] W_m[k].
    private static double[] HTimesW(double[] h, float[] w, int lags, int q, int d, int units)
    {
        var hw = new double[(long)lags * d * units];
        for (var s = 0; s < lags; s++)
        {
            for (var k = 0; k < d; k++)
            {
                var target = hw.AsSpan((s * d + k) * units, units);
                for (var r = 0; r < q; r++)
                {
                    var hs = h[s * q + r];
                    var wRow = w.AsSpan((k * q + r) * units, units);
                    for (var u = 0; u < units; u++)
                    {
                        target[u] += hs * wRow[u];
                    }
                }
            }
        }

        return hw;
    }

    // y = A^T x for row-major A [q, q] and x [q, n].
    private static void TransposeTimes(double[] a, double[] x, double[] y, int q, int n)
    {
        Array.Clear(y);
        for (var rPrime = 0; rPrime < q; rPrime++)
        {
            var xRow = x.AsSpan(rPrime * n, n);
            for (var r = 0; r < q; r++)
            {
                var coefficient = a[rPrime * q + r];
                var yRow = y.AsSpan(r * n, n);
                for (var u = 0; u < n; u++)
                {
                    yRow[u] += coefficient * xRow[u];
                }
            }
        }
    }
}
