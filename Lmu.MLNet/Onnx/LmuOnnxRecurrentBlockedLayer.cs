using Lmu.MLNet.Network;

namespace Lmu.MLNet.Onnx;

/// <summary>
/// A recurrent memory (hidden-to-memory and/or memory-to-memory encoders) under a SimpleRnn, LSTM or Dense cell in blocks of
/// <see cref="BlockLength"/> steps: the memory is formed only at block ends, and every step's memory term comes from
/// the memory before the block, the block's inputs and the few recurrent drive columns.
/// </summary>
/// <remarks>
/// Per block of steps j = 0..Lb-1 after the memory m_p and hidden state h_p (constants in
/// <see cref="LmuOnnxRecurrentBlockMatrices"/>; r_j = h_{j-1} Eh, the recurrent drive, D columns):
/// <code>
/// Y        = m_p Start + [x_0 .. x_{Lb-1}] Inputs + Constant                 two MatMuls for all steps of the block
/// pre_j    = Y_j + [r_0 .. r_j] Recurrent_j [+ h_{j-1} U]                     per step: the drives and the cell only
/// h_j      = act(pre_j)                            (an LSTM: pre_j are its four gates, and c_j is carried as h_j is)
/// m_next   = m_p A'^Lb + [x_0 .. x_{Lb-1}] EndInputs + [r_0 .. r_{Lb-1}] EndRecurrent + EndConstant
/// </code>
/// Whole blocks run in a Scan over the blocks (the block unrolled in its body); the last T mod L steps are one
/// shorter block in the main graph. Why: the Scan form's body forms the memory every step (m A', D q squared
/// multiply-adds per row) and runs about a dozen nodes per step. Here a step costs the cell's own products (h U, h Eh)
/// and a share of two wide products: psMNIST's rnn_cell (q 256, 212 units) about 108,000 multiply-adds per row and
/// step instead of 165,000, in seven nodes. An LSTM's gates (4 units wide) leave less to gain: with q 256 and 212
/// units, T 784, 23-28 against 29-31 ms a row and 0.77-0.84 against 0.84-0.86 s per 100 rows; with q 64 and 64 units
/// 7 against 7.4 ms and 88 against 121 ms. A GRU keeps the Scan (its reset gate multiplies h U's candidate part, which
/// the blocks' sums do not keep apart). Equal to the step-by-step form in exact arithmetic; in float32 the sums are
/// reassociated (tested against the Scan and the float64 forward).
/// </remarks>
internal static class LmuOnnxRecurrentBlockedLayer
{
    /// <summary>
    /// Steps per block. The block's share of the end-of-block product (M^2 / L per row and step) against the nodes
    /// unrolled in the body and the constants written (Start grows with L).
    /// </summary>
    internal const int BlockLength = 8;

    /// <summary>Largest memory width M = MemoryD q the export forms powers of (M^3 float64 products at export).</summary>
    internal const int MaxMemoryWidth = 512;

    /// <summary>
    /// Whether the blocks compute this layer exactly within the sizes they write: every constant of a whole block and of
    /// the last, shorter one together within <see cref="LmuOnnxBlockedLayer.MaxWideElements"/>.
    /// </summary>
    /// <remarks>
    /// Auto takes the blocks wherever they apply. The recurrent drives cost about 4.5 D units multiply-adds a step (step
    /// j of a block reads the j + 1 drives before it), more than the D q^2 of the memory's product the blocks drop when
    /// there are many memory channels, but the blocks' products are wide where the Scan's per-channel [q, q] products
    /// are tiny. Measured (ONNX Runtime 1.32, 1 thread, T 256, both encoders; one row per run / 100 rows per run):
    /// psMNIST's shape D 1, q 256, 212 units 2.2 / - against the Scan's 3.0 / - ms; D 4, q 64, 212 units 2.3 / 61
    /// against 2.8 / 78; D 128, q 2, 64 units 2.2 / 54 against 2.5 / 86; D 32, q 8, 128 units 1.9 / 45 against 2.2 / 51;
    /// the worst within the cap, D 64, q 2, 512 units 7.7 / 260 against 6.8 / 225 (15 % slower) and D 48, q 2, 700 units
    /// 11.1 / 384 against 9.7 / 331. Past the cap (D 64, q 8, 256 units; D 512, q 1, 1000 units: 208 against 33 ms a row,
    /// a 186 MB model) the layer keeps the Scan.
    /// </remarks>
    public static bool Supports(LmuLayerSpec l) =>
        !l.MemoryIsFeedForward && l.Hidden is HiddenCell.SimpleRnn or HiddenCell.Dense or HiddenCell.Lstm && l.Units > 0 && l.ImpulseTruncation == 0
        && (long)l.MemoryD * l.Order <= MaxMemoryWidth && 2 * WrittenElements(l) <= LmuOnnxBlockedLayer.MaxWideElements;

    // Every constant one block writes (see LmuOnnxRecurrentBlockMatrices): Start, Inputs, Constant, Recurrent, EndPower,
    // EndInputs, EndRecurrent, EndConstant.
    private static long WrittenElements(LmuLayerSpec l)
    {
        const long L = BlockLength;
        long m = (long)l.MemoryD * l.Order, d = l.MemoryD, units = l.HiddenInput!.Out, c = l.InputSize;
        long recurrent = l.Eh is null ? 0 : (d * units * L * (L + 1) / 2) + (L * d * m);
        return (m * L * units) + (L * c * L * units) + (L * units) + recurrent + (m * m) + (L * c * m) + m;
    }

    /// <summary>Builds the layer.</summary>
    /// <param name="g">Main graph.</param>
    /// <param name="l">Layer spec.</param>
    /// <param name="steps">Sequence length T.</param>
    /// <param name="x3">Input [N, T, InputSize].</param>
    /// <param name="sequence">Whether to emit h at every step ([N, T, Units], as a stack's inner layer) as the output.</param>
    /// <returns>Output (h at the last step [N, Units], or every step [N, T, Units]) and the last memory [N, MemoryD*Order].</returns>
    public static LmuOnnxLayerResult Build(OnnxGraphBuilder g, LmuLayerSpec l, int steps, string x3, bool sequence)
    {
        const int L = BlockLength;
        int c = l.InputSize, units = l.Units, width = l.MemoryD * l.Order;
        var blocks = steps / L;
        var rest = steps % L;
        var powers = LmuOnnxRecurrentBlockPowers.Create(l, Math.Min(steps, L));
        var recurrent = l.Hidden is HiddenCell.SimpleRnn or HiddenCell.Lstm && l.HiddenRecurrent is not null;
        var cell = new CellWeights(
            recurrent ? g.Floats("rb_U", l.HiddenRecurrent!.W, units, l.HiddenInput!.Out) : null,
            l.Eh is null ? null : g.Floats("rb_E_h", l.Eh, units, l.MemoryD));

        var m = LmuOnnxOps.Zeros(g, x3, width);
        var h = LmuOnnxOps.Zeros(g, x3, units);
        string? cState = l.Hidden == HiddenCell.Lstm ? LmuOnnxOps.Zeros(g, x3, units) : null;
        string? hidden = null;
        if (blocks > 0)
        {
            var whole = rest == 0 ? x3 : g.Op("Slice", [x3, g.Int64s("rb_from", 0), g.Int64s("rb_to", blocks * L), g.Int64s("rb_axis", 1)]);
            var xb = g.Op("Reshape", [whole, g.Int64s("rb_blocks", -1, blocks, L * c)]);
            var body = Body(g, l, LmuOnnxRecurrentBlockMatrices.Create(l, powers, L), cell, sequence);
            var attributes = new List<OnnxAttribute>
            {
                OnnxAttribute.Graph("body", body), OnnxAttribute.Int("num_scan_inputs", 1), OnnxAttribute.Ints("scan_input_axes", 1L),
            };
            if (sequence)
            {
                attributes.Add(OnnxAttribute.Ints("scan_output_axes", 1L));
            }

            var states = cState is null ? 2 : 3;
            var results = g.OpMulti("Scan", cState is null ? [m, h, xb] : [m, h, cState, xb], states + (sequence ? 1 : 0), [.. attributes]);
            (m, h) = (results[0], results[1]);
            cState = cState is null ? null : results[2];
            hidden = sequence ? g.Op("Reshape", [results[states], g.Int64s("rb_hseq", -1, blocks * L, units)]) : null;
        }

        if (rest > 0)
        {
            var tail = g.Op("Reshape", [
                g.Op("Slice", [x3, g.Int64s("rb_from", blocks * L), g.Int64s("rb_to", steps), g.Int64s("rb_axis", 1)]),
                g.Int64s("rb_tail", -1, rest * c)]);
            var block = Block(g, g, LmuOnnxRecurrentBlockMatrices.Create(l, powers, rest), cell, l, m, h, cState, tail);
            (m, h) = (block.Memory, block.Hidden[^1]);
            if (sequence)
            {
                var tailSequence = g.Op("Reshape", [Concat(g, block.Hidden), g.Int64s("rb_tseq", -1, rest, units)]);
                hidden = hidden is null ? tailSequence : g.Op("Concat", [hidden, tailSequence], OnnxAttribute.Int("axis", 1));
            }
        }

        return new LmuOnnxLayerResult(sequence ? hidden! : h, m, null, null);
    }

    // One block's nodes into `b` (weights into the main graph `w`, which a Scan body reads from the outer scope).
    private static (string Memory, List<string> Hidden, string? C) Block(
        OnnxGraphBuilder b, OnnxGraphBuilder w, LmuOnnxRecurrentBlockMatrices k, CellWeights cell, LmuLayerSpec l, string m, string h, string? cState, string xb)
    {
        // "units": the cell input's width, G units (an LSTM's four gates).
        int lb = k.Length, c = l.InputSize, d = l.MemoryD, units = l.HiddenInput!.Out, width = d * l.Order;
        var y = b.Op("Add", [
            b.Op("Add", [b.Op("MatMul", [m, w.Floats("rb_start", k.Start, width, lb * units)]), b.Op("MatMul", [xb, w.Floats("rb_inputs", k.Inputs, lb * c, lb * units)])]),
            w.Floats("rb_constant", k.Constant, lb * units)]);
        var steps = lb == 1 ? [y] : b.OpMulti("Split", [y], lb, OnnxAttribute.Int("axis", 1));
        var hidden = new List<string>(lb);
        string? drives = null;
        for (var j = 0; j < lb; j++)
        {
            var pre = steps[j];
            if (cell.Eh is not null)
            {
                var r = b.Op("MatMul", [h, cell.Eh]);
                drives = drives is null ? r : b.Op("Concat", [drives, r], OnnxAttribute.Int("axis", 1));
                pre = b.Op("Add", [pre, b.Op("MatMul", [drives, w.Floats("rb_recurrent", k.Recurrent![j], (j + 1) * d, units)])]);
            }

            if (cell.U is not null)
            {
                pre = b.Op("Add", [pre, b.Op("MatMul", [h, cell.U])]);
            }

            if (cState is null)
            {
                h = LmuOnnxOps.Activation(b, pre, l.HiddenInput!.Activation);
            }
            else
            {
                (h, cState) = LmuOnnxHiddenCell.Lstm(b, pre, cState);
            }

            hidden.Add(h);
        }

        var next = b.Op("Add", [b.Op("MatMul", [m, w.Floats("rb_end_power", k.EndPower, width, width)]), b.Op("MatMul", [xb, w.Floats("rb_end_inputs", k.EndInputs, lb * c, width)])]);
        if (drives is not null)
        {
            next = b.Op("Add", [next, b.Op("MatMul", [drives, w.Floats("rb_end_recurrent", k.EndRecurrent!, lb * d, width)])]);
        }

        if (k.EndConstant is not null)
        {
            next = b.Op("Add", [next, w.Floats("rb_end_constant", k.EndConstant, width)]);
        }

        return (next, hidden, cState);
    }

    // The Scan body: states (m, h[, c]), scanned the block's inputs [N, L C]; outputs m, h[, c] and (for a sequence) the block's h's.
    private static OnnxGraph Body(OnnxGraphBuilder g, LmuLayerSpec l, LmuOnnxRecurrentBlockMatrices k, CellWeights cell, bool sequence)
    {
        var b = g.Subgraph("lmu_recurrent_block");
        var m = LmuOnnxOps.BodyInput(b, "m_prev", l.MemoryD * l.Order);
        var h = LmuOnnxOps.BodyInput(b, "h_prev", l.Units);
        var cState = l.Hidden == HiddenCell.Lstm ? LmuOnnxOps.BodyInput(b, "c_prev", l.Units) : null;
        var xb = LmuOnnxOps.BodyInput(b, "x_block", k.Length * l.InputSize);
        var (next, hidden, c) = Block(b, g, k, cell, l, m, h, cState, xb);
        LmuOnnxOps.BodyOutput(b, next, l.MemoryD * l.Order);
        LmuOnnxOps.BodyOutput(b, hidden[^1], l.Units);
        if (c is not null)
        {
            LmuOnnxOps.BodyOutput(b, c, l.Units);
        }

        if (sequence)
        {
            LmuOnnxOps.BodyOutput(b, Concat(b, hidden), k.Length * l.Units);
        }

        return b.Graph;
    }

    private static string Concat(OnnxGraphBuilder b, List<string> parts) =>
        parts.Count == 1 ? parts[0] : b.Op("Concat", parts, OnnxAttribute.Int("axis", 1));

    // The cell's per-step weights, shared by the Scan body and the last, shorter block: U [units, G units] (SimpleRnn,
    // LSTM) and Eh [units, D] (hidden-to-memory).
    private readonly record struct CellWeights(string? U, string? Eh);
}
