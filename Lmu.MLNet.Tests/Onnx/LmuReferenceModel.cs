using Lmu.MLNet.Network;
using Lmu.MLNet.Onnx;

using Lmu.MLNet.Modules;

namespace Lmu.MLNet.Tests.Onnx;

/// <summary>
/// A plain float64 C# forward pass of a <see cref="LmuNetworkSpec"/>, written straight from the spec's equations
/// (loops, no matrices), against which the exported graph is checked.
/// </summary>
internal static class LmuReferenceModel
{
    /// <summary>Forward one row [T*InputSize]; returns the last memory, last layer output and the raw outputs.</summary>
    public static (double[] Memory, double[] Layer, double[] Output) Forward(LmuNetworkSpec spec, float[] row)
    {
        var l = spec.Layers[0];
        int q = l.Order, d = l.MemoryD, n = l.InputSize, units = l.Units, mw = d * q;
        var m = new double[mw];
        var h = new double[units];
        var c = new double[units];
        double[] layer = [];
        for (var t = 0; t < spec.SequenceLength; t++)
        {
            var x = new double[n];
            for (var j = 0; j < n; j++)
            {
                x[j] = row[t * n + j];
            }

            var u = l.Ex is null ? (double[])x.Clone() : Affine(x, l.Ex, null, d);
            for (var k = 0; k < d; k++)
            {
                u[k] += l.Bu?[k] ?? 0;
            }

            if (l.Eh is not null)
            {
                Accumulate(u, Affine(h, l.Eh, null, d));
            }

            if (l.Em is not null)
            {
                Accumulate(u, Affine(m, l.Em, null, d));
            }

            var next = new double[mw];
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

            m = next;
            var z = l.InputToHidden ? [.. m, .. x] : (double[])m.Clone();
            (layer, h, c) = Cell(l, z, h, c);
        }

        var y = layer;
        foreach (var dense in spec.Head)
        {
            y = Affine(y, dense.W, dense.B, dense.Out).Select(v => Act(v, dense.Activation)).ToArray();
        }

        return (m, layer, y);
    }

    private static (double[] Out, double[] H, double[] C) Cell(LmuLayerSpec l, double[] z, double[] h, double[] c)
    {
        if (l.Hidden == HiddenCell.None)
        {
            return (z, h, c);
        }

        var u = l.Units;
        var gi = Affine(z, l.HiddenInput!.W, l.HiddenInput.B, l.HiddenInput.Out);
        var gh = l.HiddenRecurrent is null ? null : Affine(h, l.HiddenRecurrent.W, l.HiddenRecurrent.B, l.HiddenRecurrent.Out);
        var act = l.HiddenInput.Activation;
        switch (l.Hidden)
        {
            case HiddenCell.Dense:
                var hd = gi.Select(v => Act(v, act)).ToArray();
                return (hd, hd, c);
            case HiddenCell.SimpleRnn:
                var hs = gi.Select((v, k) => Act(v + gh![k], act)).ToArray();
                return (hs, hs, c);
            case HiddenCell.Lstm:
                var hl = new double[u];
                var cl = new double[u];
                for (var k = 0; k < u; k++)
                {
                    double G(int gate) => gi[gate * u + k] + gh![gate * u + k];
                    cl[k] = Sig(G(1)) * c[k] + Sig(G(0)) * Math.Tanh(G(2));
                    hl[k] = Sig(G(3)) * Math.Tanh(cl[k]);
                }

                return (hl, hl, cl);
            case HiddenCell.Gru:
                var hg = new double[u];
                for (var k = 0; k < u; k++)
                {
                    var r = Sig(gi[k] + gh![k]);
                    var zz = Sig(gi[u + k] + gh[u + k]);
                    var nn = Math.Tanh(gi[2 * u + k] + r * gh[2 * u + k]);
                    hg[k] = (1 - zz) * nn + zz * h[k];
                }

                return (hg, hg, c);
            default:
                throw new ArgumentOutOfRangeException(nameof(l));
        }
    }

    private static double[] Affine(double[] x, float[] w, float[]? b, int outW)
    {
        var y = new double[outW];
        for (var o = 0; o < outW; o++)
        {
            double s = b?[o] ?? 0;
            for (var i = 0; i < x.Length; i++)
            {
                s += x[i] * w[i * outW + o];
            }

            y[o] = s;
        }

        return y;
    }

    private static void Accumulate(double[] a, double[] b)
    {
        for (var i = 0; i < a.Length; i++)
        {
            a[i] += b[i];
        }
    }

    private static double Sig(double v) => 1 / (1 + Math.Exp(-v));

    private static double Act(double v, LmuActivation k) => k switch
    {
        LmuActivation.Tanh => Math.Tanh(v),
        LmuActivation.Relu => Math.Max(0, v),
        LmuActivation.Sigmoid => Sig(v),
        _ => v,
    };
}
