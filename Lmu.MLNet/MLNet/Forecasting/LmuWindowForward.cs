using Lmu.MLNet.Network;

namespace Lmu.MLNet.Forecasting;

/// <summary>
/// Float64 forward pass of a <see cref="LmuNetworkSpec"/> over one window, step by step from a zero state, straight
/// from the equations in the spec's documentation, layer after layer (each layer reads the previous one's output at every
/// step). The streaming engine uses it for networks whose state cannot be slid (stacks, recurrent hidden cells,
/// hidden- or memory-to-memory encoders), and it is the engine's reference.
/// </summary>
internal static class LmuWindowForward
{
    /// <summary>Raw network outputs for scaled inputs <paramref name="x"/>, time-major [T * InputSize].</summary>
    public static double[] Run(LmuNetworkSpec spec, ReadOnlySpan<double> x)
    {
        if (spec.Readout != LmuReadout.LastStep)
        {
            // The forecaster never builds one; a streaming forecast reads the last step by construction.
            throw new InvalidOperationException($"A forecast reads the last step; this network has the {spec.Readout} readout.");
        }

        var input = x.ToArray();
        double[] output = [];
        for (var i = 0; i < spec.Layers.Count; i++)
        {
            var l = spec.Layers[i];
            var sequence = i < spec.Layers.Count - 1 ? new double[spec.SequenceLength * l.OutputSize] : null;
            output = RunLayer(l, input, spec.SequenceLength, sequence);
            input = sequence ?? input;
        }

        return Head(spec, output);
    }

    /// <summary>
    /// One layer over <paramref name="steps"/> steps of <paramref name="x"/> [steps * InputSize] from a zero state; returns
    /// the last step's output and, when <paramref name="sequence"/> is given, writes every step's output into it.
    /// </summary>
    private static double[] RunLayer(LmuLayerSpec l, double[] x, int steps, double[]? sequence)
    {
        int q = l.Order, d = l.MemoryD, n = l.InputSize, mw = d * q;
        var m = new double[mw];
        var next = new double[mw];
        var h = new double[l.Units];
        var c = new double[l.Units];
        var u = new double[d];
        double[] output = [];
        for (var t = 0; t < steps; t++)
        {
            var xt = x.AsSpan(t * n, n);
            Encode(l, xt, u);
            if (l.Eh is not null)
            {
                AddProduct(h, l.Eh, d, u);
            }

            if (l.Em is not null)
            {
                AddProduct(m, l.Em, d, u);
            }

            for (var k = 0; k < d; k++)
            {
                for (var i = 0; i < q; i++)
                {
                    var s = l.Bd[i] * u[k];
                    for (var j = 0; j < q; j++)
                    {
                        s += l.Ad[i * q + j] * m[k * q + j];
                    }

                    next[k * q + i] = s;
                }
            }

            (m, next) = (next, m);
            output = HiddenStep(l, m, xt, h, c);
            if (sequence is not null)
            {
                output.CopyTo(sequence, t * output.Length);
            }
        }

        return output;
    }

    /// <summary>u = x Ex + bu (x itself when there is no encoder).</summary>
    public static void Encode(LmuLayerSpec l, ReadOnlySpan<double> x, double[] u)
    {
        var d = l.MemoryD;
        for (var k = 0; k < d; k++)
        {
            double s = l.Bu?[k] ?? 0;
            if (l.Ex is null)
            {
                s += x[k];
            }
            else
            {
                for (var j = 0; j < x.Length; j++)
                {
                    s += x[j] * l.Ex[j * d + k];
                }
            }

            u[k] = s;
        }
    }

    /// <summary>
    /// The hidden cell for memory <paramref name="m"/> and input <paramref name="x"/>; updates h and c in place for
    /// recurrent cells and returns the layer output.
    /// </summary>
    public static double[] HiddenStep(LmuLayerSpec l, double[] m, ReadOnlySpan<double> x, double[] h, double[] c)
    {
        var z = new double[l.HiddenInputSize];
        m.CopyTo(z, 0);
        if (l.InputToHidden)
        {
            x.CopyTo(z.AsSpan(m.Length));
        }

        if (l.Hidden == HiddenCell.None)
        {
            return z;
        }

        var units = l.Units;
        var gi = Affine(z, l.HiddenInput!);
        var gh = l.HiddenRecurrent is null ? null : Affine(h, l.HiddenRecurrent);
        var act = l.HiddenInput!.Activation;
        switch (l.Hidden)
        {
            case HiddenCell.Dense:
                // h is the output: a hidden-to-memory encoder reads it at the next step (callers without one pass no h).
                var dense = gi.Select(v => Activate(v, act)).ToArray();
                if (h.Length == units)
                {
                    dense.CopyTo(h, 0);
                }

                return dense;
            case HiddenCell.SimpleRnn:
                for (var k = 0; k < units; k++)
                {
                    h[k] = Activate(gi[k] + gh![k], act);
                }

                break;
            case HiddenCell.Lstm:
                // PyTorch gate order i, f, g, o.
                for (var k = 0; k < units; k++)
                {
                    double G(int gate) => gi[gate * units + k] + gh![gate * units + k];
                    c[k] = Sigmoid(G(1)) * c[k] + Sigmoid(G(0)) * Math.Tanh(G(2));
                    h[k] = Sigmoid(G(3)) * Math.Tanh(c[k]);
                }

                break;
            case HiddenCell.Gru:
                // PyTorch gate order r, z, n; n uses r * (h W_hn + b_hn).
                for (var k = 0; k < units; k++)
                {
                    var r = Sigmoid(gi[k] + gh![k]);
                    var zz = Sigmoid(gi[units + k] + gh[units + k]);
                    var nn = Math.Tanh(gi[2 * units + k] + r * gh[2 * units + k]);
                    h[k] = (1 - zz) * nn + zz * h[k];
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(l), l.Hidden, "Unknown hidden cell.");
        }

        return (double[])h.Clone();
    }

    /// <summary>The dense head over the layer's last output.</summary>
    public static double[] Head(LmuNetworkSpec spec, double[] layerOutput)
    {
        var y = layerOutput;
        foreach (var dense in spec.Head)
        {
            var a = Affine(y, dense);
            for (var i = 0; i < a.Length; i++)
            {
                a[i] = Activate(a[i], dense.Activation);
            }

            y = a;
        }

        return y;
    }

    private static double[] Affine(double[] x, DenseSpec d)
    {
        var y = new double[d.Out];
        for (var o = 0; o < d.Out; o++)
        {
            y[o] = d.B?[o] ?? 0;
        }

        for (var i = 0; i < x.Length; i++)
        {
            var xi = x[i];
            var row = i * d.Out;
            for (var o = 0; o < d.Out; o++)
            {
                y[o] += xi * d.W[row + o];
            }
        }

        return y;
    }

    // u += v E for E row-major [v.Length, width].
    private static void AddProduct(double[] v, float[] e, int width, double[] u)
    {
        for (var i = 0; i < v.Length; i++)
        {
            for (var k = 0; k < width; k++)
            {
                u[k] += v[i] * e[i * width + k];
            }
        }
    }

    private static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));

    private static double Activate(double v, LmuActivation kind) => kind switch
    {
        LmuActivation.Identity => v,
        LmuActivation.Tanh => Math.Tanh(v),
        LmuActivation.Relu => Math.Max(0, v),
        LmuActivation.Sigmoid => Sigmoid(v),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown activation."),
    };
}
