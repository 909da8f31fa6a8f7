using Lmu.MLNet.Network;

namespace Lmu.MLNet.Onnx;

/// <summary>
/// The LMU layer as an ONNX Scan over the time axis. Everything that needs no recurrence (x_t Ex + bu and the x_t
/// part of the hidden input) is computed for all steps before the loop and scanned in; the body does one step:
/// <code>
/// u = ux_t [+ h_{t-1} Eh] [+ m_{t-1} Em];  m_t[k,:] = m_{t-1}[k,:] Ad^T + u[k] Bd;  h_t = cell(m_t, x part, h_{t-1})
/// </code>
/// The body reads its weights from the main graph's initializers (outer scope).
/// </summary>
internal static class LmuOnnxScanLayer
{
    /// <summary>Builds the layer.</summary>
    /// <param name="g">Main graph.</param>
    /// <param name="l">Layer spec.</param>
    /// <param name="x3">Input [N, T, InputSize].</param>
    /// <param name="ux">Encoded input [N, T, MemoryD].</param>
    /// <param name="xLast">Input at the last step [N, InputSize].</param>
    /// <param name="withSequences">Whether to emit per-step memory and hidden sequences.</param>
    /// <param name="valid">
    /// Optional bool [N, T, 1] of valid steps: on an invalid step every state is carried unchanged, so leading padding
    /// (see <see cref="LmuOnnxRightAlign"/>) leaves the zero initial state as it is.
    /// </param>
    public static LmuOnnxLayerResult Build(
        OnnxGraphBuilder g, LmuLayerSpec l, string x3, string ux, string xLast, bool withSequences, string? valid = null)
    {
        var mw = l.MemoryD * l.Order;
        var hasHidden = l.Hidden != HiddenCell.None;
        var isLstm = l.Hidden == HiddenCell.Lstm;
        var hasXPart = hasHidden && l.InputToHidden;

        // Outer inputs: zero initial states, then the scanned sequences.
        var outer = new List<string> { LmuOnnxOps.Zeros(g, ux, mw) };
        if (hasHidden)
        {
            outer.Add(LmuOnnxOps.Zeros(g, ux, l.Units));
        }

        if (isLstm)
        {
            outer.Add(LmuOnnxOps.Zeros(g, ux, l.Units));
        }

        outer.Add(ux);
        if (hasXPart)
        {
            outer.Add(LmuOnnxOps.Dense(g, g, x3, LmuOnnxHiddenCell.InputPart(l), "W_x"));
        }

        if (valid is not null)
        {
            outer.Add(valid);
        }

        var body = BuildBody(g, l, hasXPart, withSequences, valid is not null);
        var stateCount = 1 + (hasHidden ? 1 : 0) + (isLstm ? 1 : 0);
        var scanOutputs = withSequences ? (hasHidden ? 2 : 1) : 0;
        var scanInputs = outer.Count - stateCount;
        var results = g.OpMulti(
            "Scan",
            outer,
            stateCount + scanOutputs,
            OnnxAttribute.Graph("body", body),
            OnnxAttribute.Int("num_scan_inputs", scanInputs),
            OnnxAttribute.Ints("scan_input_axes", Enumerable.Repeat(1L, scanInputs).ToArray()),
            OnnxAttribute.Ints("scan_output_axes", Enumerable.Repeat(1L, scanOutputs).ToArray()));

        var mT = results[0];
        var output = hasHidden
            ? results[1]
            : l.InputToHidden ? g.Op("Concat", [mT, xLast], OnnxAttribute.Int("axis", 1)) : mT;
        string? memSeq = withSequences ? results[stateCount] : null;
        string? hidSeq = withSequences && hasHidden ? results[stateCount + 1] : null;
        return new LmuOnnxLayerResult(output, mT, memSeq, hidSeq);
    }

    private static OnnxGraph BuildBody(OnnxGraphBuilder g, LmuLayerSpec l, bool hasXPart, bool withSequences, bool masked)
    {
        var b = g.Subgraph("lmu_step");
        var mw = l.MemoryD * l.Order;
        var q = l.Order;
        var gw = LmuOnnxHiddenCell.Gates(l.Hidden) * l.Units;

        var mPrev = LmuOnnxOps.BodyInput(b, "m_prev", mw);
        var hPrev = l.Hidden != HiddenCell.None ? LmuOnnxOps.BodyInput(b, "h_prev", l.Units) : null;
        var cPrev = l.Hidden == HiddenCell.Lstm ? LmuOnnxOps.BodyInput(b, "c_prev", l.Units) : null;
        var u = LmuOnnxOps.BodyInput(b, "ux_t", l.MemoryD);
        var xPart = hasXPart ? LmuOnnxOps.BodyInput(b, "hx_t", gw) : null;
        string? validT = null;
        if (masked)
        {
            validT = b.Fresh("valid_t");
            b.Input(validT, OnnxElementType.Bool, "N", 1L);
        }

        // On an invalid step the new state is discarded: Where(valid, new, old) per state.
        string Keep(string next, string previous) => validT is null ? next : b.Op("Where", [validT, next, previous]);

        if (l.Eh is not null)
        {
            u = b.Op("Add", [u, b.Op("MatMul", [hPrev!, g.Floats("E_h", l.Eh, l.Units, l.MemoryD)])]);
        }

        // One memory channel: m_{t-1} Em Bd^T is a [q, q] term of the transition (A' = Ad^T + Em Bd^T, formed in float64),
        // and the rows need no reshaping: five nodes fewer per step (the Scan's per-node cost dominates one row per run).
        var single = l.MemoryD == 1;
        if (l.Em is not null && !single)
        {
            u = b.Op("Add", [u, b.Op("MatMul", [mPrev, g.Floats("E_m", l.Em, mw, l.MemoryD)])]);
        }

        // m_t[k,:] = Ad m_{t-1}[k,:] + Bd u[k], as rows: [N, D, q] x Ad^T + [N, D, 1] * Bd[1, q].
        var adT = new float[q * q];
        for (var i = 0; i < q; i++)
        {
            for (var j = 0; j < q; j++)
            {
                adT[j * q + i] = (float)(l.Ad[i * q + j] + (single && l.Em is not null ? l.Em[j] * l.Bd[i] : 0));
            }
        }

        var bd = g.Floats("Bd", l.Bd.Select(v => (float)v).ToArray(), 1, q);
        string next;
        if (single)
        {
            next = b.Op("Add", [b.Op("MatMul", [mPrev, g.Floats("Ad_T", adT, q, q)]), b.Op("Mul", [u, bd])]);
        }
        else
        {
            var m3 = b.Op("Reshape", [mPrev, g.Int64s("shape", -1, l.MemoryD, q)]);
            var decay = b.Op("MatMul", [m3, g.Floats("Ad_T", adT, q, q)]);
            var u3 = b.Op("Reshape", [u, g.Int64s("shape", -1, l.MemoryD, 1)]);
            next = b.Op("Reshape", [b.Op("Add", [decay, b.Op("Mul", [u3, bd])]), g.Int64s("shape", -1, mw)]);
        }

        var m = Keep(next, mPrev);

        var outputs = new List<(string Value, long Width)> { (m, mw) };
        string? h = null;
        if (l.Hidden != HiddenCell.None)
        {
            (h, var c) = LmuOnnxHiddenCell.Step(b, g, l, m, xPart, hPrev, cPrev);
            h = Keep(h, hPrev!);
            c = c is null ? null : Keep(c, cPrev!);
            outputs.Add((h, l.Units));
            if (c is not null)
            {
                outputs.Add((c, l.Units));
            }
        }

        if (withSequences)
        {
            outputs.Add((m, mw));
            if (h is not null)
            {
                outputs.Add((h, l.Units));
            }
        }

        foreach (var (value, width) in outputs)
        {
            LmuOnnxOps.BodyOutput(b, value, width);
        }

        return b.Graph;
    }
}
