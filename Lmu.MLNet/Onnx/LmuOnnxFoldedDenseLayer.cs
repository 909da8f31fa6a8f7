using Lmu.MLNet.Network;

namespace Lmu.MLNet.Onnx;

/// <summary>
/// The feed-forward layer's last step under a Dense cell as one product: the cell's pre-activation is linear in the
/// row's inputs, so the encoder, the impulse response, the Dense kernel and the memory bias's response fold into one
/// kernel K [T C, units] and bias b', computed here in float64 from the spec and rounded once:
/// <code>
/// P[s, d, :] = sum_j H[s, j] W_m[d q + j, :]                 (lag s, memory channel d)
/// K[t C + c, :] = sum_d Ex[c, d] P[T-1-t, d, :]  (+ W_x[c, :] at t = T-1)
/// b' = b + sum_{s, d} bu[d] P[s, d, :]
/// h_T = act(x [N, T C] K + b')
/// </code>
/// </summary>
/// <remarks>
/// Why: the unfolded graph encodes every step, multiplies [N D, T] by H [T, q] and then by the Dense kernel; the
/// bench's ff_dense shape (T 784, q 256, 212 units) needs 255,000 multiply-adds per row that way and 166,000 folded,
/// in two nodes instead of seven. Used where nothing reads the memory itself (no published final memory) and every
/// step counts (no length input: a padded step's memory bias would have to be masked out of b').
/// </remarks>
internal static class LmuOnnxFoldedDenseLayer
{
    /// <summary>Largest folded kernel written (elements, 64 MiB in float32); wider ones keep the unfolded form.</summary>
    internal const long MaxKernelElements = 16L << 20;

    /// <summary>Whether the folded form applies to this layer and costs less per row than the unfolded one.</summary>
    public static bool Pays(LmuLayerSpec l, int steps)
    {
        if (!l.MemoryIsFeedForward || l.Hidden != HiddenCell.Dense)
        {
            return false;
        }

        long c = l.InputSize, d = l.MemoryD, q = l.Order, units = l.Units, t = steps;
        var folded = t * c * units;
        var unfolded = (l.Ex is null ? 0 : t * c * d) + (d * t * q) + (d * q * units);
        return folded <= MaxKernelElements && folded < unfolded;
    }

    /// <summary>Builds the layer's last-step output from the input sequence x3 [N, T, InputSize].</summary>
    public static LmuOnnxLayerResult Build(OnnxGraphBuilder g, LmuLayerSpec l, int steps, string x3)
    {
        var (kernel, bias) = Fold(l, steps);
        var d = l.HiddenInput!;
        var rows = g.Op("Reshape", [x3, g.Int64s("rows", -1, (long)steps * l.InputSize)]);
        var folded = new DenseSpec { In = steps * l.InputSize, Out = d.Out, W = kernel, B = bias, Activation = d.Activation };
        return new LmuOnnxLayerResult(LmuOnnxOps.Dense(g, g, rows, folded, "folded"), null, null, null);
    }

    /// <summary>K [T C, units] row-major and b' [units] (null when the cell has no bias and there is no bu).</summary>
    internal static (float[] Kernel, float[]? Bias) Fold(LmuLayerSpec l, int steps)
    {
        int c = l.InputSize, memD = l.MemoryD, q = l.Order, units = l.Units;
        var w = l.HiddenInput!.W;                                    // [D q (+ C), units] row-major
        var h = LmuImpulseResponse.Compute(l.Ad, l.Bd, steps, l.ImpulseTruncation);   // [T, q], row s = lag s

        // The encoder first: Wc[ch] = sum_d Ex[ch, d] W_m[d] ([C, q, units], small), so nothing is wider than K.
        var wc = new double[(long)c * q * units];
        for (var ch = 0; ch < c; ch++)
        {
            for (var dd = 0; dd < memD; dd++)
            {
                // No encoder: u_t = x_t, channel ch is memory channel ch (InputSize == MemoryD).
                var e = l.Ex is null ? (ch == dd ? 1.0 : 0.0) : l.Ex[ch * memD + dd];
                if (e == 0)
                {
                    continue;
                }

                for (var j = 0; j < q; j++)
                {
                    var target = wc.AsSpan((ch * q + j) * units, units);
                    var wRow = w.AsSpan((dd * q + j) * units, units);
                    for (var u = 0; u < units; u++)
                    {
                        target[u] += e * wRow[u];
                    }
                }
            }
        }

        var kernel = new float[(long)steps * c * units];
        var row = new double[units];
        for (var t = 0; t < steps; t++)
        {
            var lag = steps - 1 - t;
            for (var ch = 0; ch < c; ch++)
            {
                Array.Clear(row);
                for (var j = 0; j < q; j++)
                {
                    var hs = h[lag * q + j];
                    var wcRow = wc.AsSpan((ch * q + j) * units, units);
                    for (var u = 0; u < units; u++)
                    {
                        row[u] += hs * wcRow[u];
                    }
                }

                var target = kernel.AsSpan((t * c + ch) * units, units);
                for (var u = 0; u < units; u++)
                {
                    target[u] = (float)(row[u] + (t == steps - 1 && l.InputToHidden ? w[(memD * q + ch) * units + u] : 0));
                }
            }
        }

        var b = l.HiddenInput.B;
        if (l.Bu is null)
        {
            return (kernel, b);
        }

        // b' = b + sum_d bu[d] (sum_s H[s]) W_m[d].
        var sumH = new double[q];
        for (var s = 0; s < steps; s++)
        {
            for (var j = 0; j < q; j++)
            {
                sumH[j] += h[s * q + j];
            }
        }

        var bias = new double[units];
        for (var u = 0; u < units; u++)
        {
            bias[u] = b is null ? 0 : b[u];
        }

        for (var dd = 0; dd < memD; dd++)
        {
            for (var j = 0; j < q; j++)
            {
                var coefficient = l.Bu[dd] * sumH[j];
                var wRow = w.AsSpan((dd * q + j) * units, units);
                for (var u = 0; u < units; u++)
                {
                    bias[u] += coefficient * wRow[u];
                }
            }
        }

        return (kernel, Array.ConvertAll(bias, v => (float)v));
    }
}
