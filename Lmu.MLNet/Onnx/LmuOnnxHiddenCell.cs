using Lmu.MLNet.Network;

namespace Lmu.MLNet.Onnx;

/// <summary>
/// One step of the hidden cell, h_t = cell(z_t, h_{t-1}), with z_t W_ih split as m_t W_m + x_t W_x so that the
/// x part (which needs no recurrence) can be computed for all steps before the loop.
/// </summary>
internal static class LmuOnnxHiddenCell
{
    /// <summary>Number of gate blocks in the hidden weights (4 for LSTM, 3 for GRU, else 1).</summary>
    public static int Gates(HiddenCell kind) => LmuLayerSpec.GatesOf(kind);

    /// <summary>The x_t rows of the hidden input weights, [InputSize, G*Units] (InputToHidden only).</summary>
    public static DenseSpec InputPart(LmuLayerSpec l)
    {
        var d = l.HiddenInput!;
        var mw = l.MemoryD * l.Order;
        return new DenseSpec { In = l.InputSize, Out = d.Out, W = LmuOnnxOps.Rows(d.W, d.Out, mw, l.InputSize), B = d.B };
    }

    /// <summary>Adds one step to <paramref name="g"/>.</summary>
    /// <param name="g">Graph receiving the nodes (main graph or Scan body).</param>
    /// <param name="w">Main graph receiving the weights.</param>
    /// <param name="l">The layer.</param>
    /// <param name="m">Flattened memory m_t [N, MemoryD*Order].</param>
    /// <param name="xPart">x_t W_x + b_ih [N, G*Units] when InputToHidden (bias included), else null.</param>
    /// <param name="hPrev">h_{t-1} for recurrent cells.</param>
    /// <param name="cPrev">c_{t-1} for LSTM.</param>
    /// <returns>h_t and, for LSTM, c_t.</returns>
    public static (string H, string? C) Step(
        OnnxGraphBuilder g, OnnxGraphBuilder w, LmuLayerSpec l, string m, string? xPart, string? hPrev, string? cPrev)
    {
        var d = l.HiddenInput!;
        var mw = l.MemoryD * l.Order;
        var pre = g.Op("MatMul", [m, w.Floats("W_m", LmuOnnxOps.Rows(d.W, d.Out, 0, mw), mw, d.Out)]);
        if (xPart is not null)
        {
            pre = g.Op("Add", [pre, xPart]);
        }
        else if (d.B is not null)
        {
            pre = g.Op("Add", [pre, w.Floats("b_ih", d.B, d.Out)]);
        }

        switch (l.Hidden)
        {
            case HiddenCell.Dense:
                return (LmuOnnxOps.Activation(g, pre, d.Activation), null);
            case HiddenCell.SimpleRnn:
                return (LmuOnnxOps.Activation(g, g.Op("Add", [pre, Recurrent(g, w, l, hPrev!)]), d.Activation), null);
            case HiddenCell.Lstm:
                return Lstm(g, g.Op("Add", [pre, Recurrent(g, w, l, hPrev!)]), cPrev!);
            case HiddenCell.Gru:
                return (Gru(g, pre, Recurrent(g, w, l, hPrev!), hPrev!), null);
            default:
                throw new ArgumentOutOfRangeException(nameof(l), l.Hidden, "No hidden cell to build.");
        }
    }

    // h_{t-1} W_hh + b_hh; the cell's nonlinearity is applied after summing with the input part, so none here.
    private static string Recurrent(OnnxGraphBuilder g, OnnxGraphBuilder w, LmuLayerSpec l, string hPrev)
    {
        var r = l.HiddenRecurrent!;
        var linear = new DenseSpec { In = r.In, Out = r.Out, W = r.W, B = r.B };
        return LmuOnnxOps.Dense(g, w, hPrev, linear, "W_hh");
    }

    // PyTorch LSTM: i, f, g, o = split(x W_ih + b_ih + h W_hh + b_hh); c = s(f) c + s(i) tanh(g); h = s(o) tanh(c).
    internal static (string H, string? C) Lstm(OnnxGraphBuilder g, string gates, string cPrev)
    {
        // Split-13 with no 'split' input cuts equal parts, one per output.
        var p = g.OpMulti("Split", [gates], 4, OnnxAttribute.Int("axis", 1));
        var i = g.Op("Sigmoid", [p[0]]);
        var f = g.Op("Sigmoid", [p[1]]);
        var cand = g.Op("Tanh", [p[2]]);
        var o = g.Op("Sigmoid", [p[3]]);
        var c = g.Op("Add", [g.Op("Mul", [f, cPrev]), g.Op("Mul", [i, cand])]);
        var h = g.Op("Mul", [o, g.Op("Tanh", [c])]);
        return (h, c);
    }

    // PyTorch GRU: r = s(xr + hr), z = s(xz + hz), n = tanh(xn + r * hn), h = (1 - z) n + z h = n + z (h - n).
    private static string Gru(OnnxGraphBuilder g, string xGates, string hGates, string hPrev)
    {
        var x = g.OpMulti("Split", [xGates], 3, OnnxAttribute.Int("axis", 1));
        var hh = g.OpMulti("Split", [hGates], 3, OnnxAttribute.Int("axis", 1));
        var r = g.Op("Sigmoid", [g.Op("Add", [x[0], hh[0]])]);
        var z = g.Op("Sigmoid", [g.Op("Add", [x[1], hh[1]])]);
        var n = g.Op("Tanh", [g.Op("Add", [x[2], g.Op("Mul", [r, hh[2]])])]);
        return g.Op("Add", [n, g.Op("Mul", [z, g.Op("Sub", [hPrev, n])])]);
    }
}
