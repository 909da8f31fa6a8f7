using Lmu.MLNet.Network;

namespace Lmu.MLNet.Onnx;

/// <summary>
/// A feed-forward memory under a SimpleRnn cell in blocks of <see cref="BlockLength"/> steps: the hidden cell's input
/// for every step comes from a few large products, and only the cell's own recurrence loops over the steps.
/// </summary>
/// <remarks>
/// Per block b of steps t0..t0+L-1 (rows are zero-padded in front to whole blocks; a zero input leaves the zero
/// memory as it is) with s_b the memory before it and u_t = x_t Ex (the memory bias's share is a constant, below):
/// <code>
/// m_{t0+j} W_m = s_b (A^(j+1))^T W_m + sum_{i&lt;=j} u_{t0+i} H[j-i] W_m         one [N nb, D q + L D] x [D q + L D, L units] MatMul
/// s_{b+1}      = s_b (A^L)^T + sum_{i&lt;L} u_{t0+i} H[L-1-i]                     a Scan over the nb blocks (two MatMuls a block)
/// gi_t         = m_t W_m + x_t W_x + b_ih + b_hh + sum_d bu[d] sum_{s&lt;=t} H[s] W_m[d]   (the last term a [T, units] constant)
/// h_t          = act(gi_t + h_{t-1} W_hh)                                     a Scan over the steps, three nodes a step
/// </code>
/// Why: the Scan form runs the memory's step and the whole cell in its body, about ten nodes per step; ONNX Runtime's
/// per-node cost and its [N, q] x [q, q] product per step dominated the batched ff_rnn shape (T 784, q 256, 212 units:
/// 0.29 s per 100 rows against PyTorch's 0.57). The matrices are formed in float64 at export: (A^(j+1))^T W_m for
/// j &lt; L, the block-Toeplitz H[j-i] W_m, (A^L)^T and the end-of-block rows H[L-1-i].
/// </remarks>
internal static class LmuOnnxBlockedLayer
{
    /// <summary>Steps per block: the wide product's columns (L units) against the block Scan's length (T / L).</summary>
    internal const int BlockLength = 16;

    /// <summary>
    /// Largest wide matrix written ([D q + L D, L units] elements, 16 MiB in float32): past it (wide memories under wide
    /// cells) the model file and the export's float64 products would grow more than the loop's nodes cost, and the
    /// layer keeps the Scan.
    /// </summary>
    internal const long MaxWideElements = 4L << 20;

    /// <summary>
    /// Whether the blocks compute this layer exactly (a window of lags has no block-to-block state) within
    /// <see cref="MaxWideElements"/>.
    /// </summary>
    public static bool Supports(LmuLayerSpec l) =>
        l.MemoryIsFeedForward && l.Hidden == HiddenCell.SimpleRnn && l.ImpulseTruncation == 0
        && ((long)l.MemoryD * l.Order + (long)BlockLength * l.MemoryD) * BlockLength * l.Units <= MaxWideElements;

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
        int q = l.Order, d = l.MemoryD, c = l.InputSize, units = l.Units;
        var blocks = (steps + L - 1) / L;
        var padded = blocks * L;
        var pad = padded - steps;
        var m = LmuOnnxBlockedMatrices.Create(l, steps, L);

        // u = x Ex without bu, zero-padded in front to whole blocks.
        var u = l.Ex is null ? x3 : g.Op("MatMul", [x3, g.Floats("blk_E_x", l.Ex, c, d)]);
        if (pad > 0)
        {
            u = g.Op("Pad", [u, g.Int64s("blk_pads", 0, pad, 0, 0, 0, 0)]);
        }

        // Each block's inputs: [N, nb, L D] (step-major within the block) for the wide product, and per memory channel
        // [nb, N D, L] for the block Scan (row n D + k: row n's channel k, the memory's flat order).
        var uBlocks = g.Op("Reshape", [u, g.Int64s("blk_rows", -1, blocks, L * d)]);
        var uChannels = g.Op("Reshape", [
            g.Op("Transpose", [g.Op("Reshape", [u, g.Int64s("blk_split", -1, blocks, L, d)])], OnnxAttribute.Ints("perm", 1, 0, 3, 2)),
            g.Int64s("blk_channels", blocks, -1, L)]);
        var channelRows = g.Op("Reshape", [g.Op("Transpose", [u], OnnxAttribute.Ints("perm", 0, 2, 1)), g.Int64s("blk_channel_rows", -1, padded)]);
        var starts = g.OpMulti("Scan", [LmuOnnxOps.Zeros(g, channelRows, q), uChannels], 2,
            OnnxAttribute.Graph("body", BlockBody(g, m, q)), OnnxAttribute.Int("num_scan_inputs", 1));

        // Every step's memory term through one product: [s_b, u_block] [N nb, D q + L D] x [D q + L D, L units].
        var s = g.Op("Transpose", [g.Op("Reshape", [starts[1], g.Int64s("blk_starts", blocks, -1, d * q)])], OnnxAttribute.Ints("perm", 1, 0, 2));
        var z = g.Op("Reshape", [g.Op("Concat", [s, uBlocks], OnnxAttribute.Int("axis", 2)), g.Int64s("blk_z", -1, d * q + L * d)]);
        var gi = g.Op("Reshape", [g.Op("MatMul", [z, g.Floats("blk_W", m.Wide, d * q + L * d, L * units)]), g.Int64s("blk_gi", -1, padded, units)]);
        if (pad > 0)
        {
            gi = g.Op("Slice", [gi, g.Int64s("blk_from", pad), g.Int64s("blk_to", padded), g.Int64s("blk_axis", 1)]);
        }

        if (l.InputToHidden)
        {
            var x2 = g.Op("Reshape", [x3, g.Int64s("blk_x_rows", -1, c)]);
            var xPart = g.Op("MatMul", [x2, g.Floats("blk_W_x", LmuOnnxOps.Rows(l.HiddenInput!.W, units, d * q, c), c, units)]);
            gi = g.Op("Add", [gi, g.Op("Reshape", [xPart, g.Int64s("blk_x_part", -1, steps, units)])]);
        }

        gi = g.Op("Add", [gi, m.StepBias.Length == units ? g.Floats("blk_b", m.StepBias, units) : g.Floats("blk_b", m.StepBias, steps, units)]);

        // The cell's recurrence, time-major.
        var giT = g.Op("Transpose", [gi], OnnxAttribute.Ints("perm", 1, 0, 2));
        var hidden = g.OpMulti("Scan", [LmuOnnxOps.Zeros(g, x3, units), giT], sequence ? 2 : 1,
            OnnxAttribute.Graph("body", HiddenBody(g, l, sequence)), OnnxAttribute.Int("num_scan_inputs", 1));
        var output = sequence ? g.Op("Transpose", [hidden[1]], OnnxAttribute.Ints("perm", 1, 0, 2)) : hidden[0];

        // The last memory: the block Scan's final state (the padding is in front), plus bu's response.
        var finalMemory = g.Op("Reshape", [starts[0], g.Int64s("blk_mlast", -1, d * q)]);
        if (m.MemoryBias is not null)
        {
            finalMemory = g.Op("Add", [finalMemory, g.Floats("blk_mb", m.MemoryBias, d * q)]);
        }

        return new LmuOnnxLayerResult(output, finalMemory, null, null);
    }

    // s' = s (A^L)^T + ub Gend, and s itself as the scan output (the memory before the block).
    private static OnnxGraph BlockBody(OnnxGraphBuilder g, LmuOnnxBlockedMatrices m, int q)
    {
        var b = g.Subgraph("lmu_block");
        var s = LmuOnnxOps.BodyInput(b, "s_prev", q, "ND");
        var ub = LmuOnnxOps.BodyInput(b, "u_block", BlockLength, "ND");
        var next = b.Op("Add", [b.Op("MatMul", [s, g.Floats("blk_AL_T", m.PowerLTransposed, q, q)]), b.Op("MatMul", [ub, g.Floats("blk_G", m.BlockEnd, BlockLength, q)])]);
        LmuOnnxOps.BodyOutput(b, next, q, "ND");
        LmuOnnxOps.BodyOutput(b, s, q, "ND");
        return b.Graph;
    }

    // h' = act(gi_t + h W_hh), as the state and (when asked) the scan output.
    private static OnnxGraph HiddenBody(OnnxGraphBuilder g, LmuLayerSpec l, bool sequence)
    {
        var b = g.Subgraph("lmu_cell");
        var h = LmuOnnxOps.BodyInput(b, "h_prev", l.Units);
        var gi = LmuOnnxOps.BodyInput(b, "gi_t", l.Units);
        var r = l.HiddenRecurrent!;
        var next = LmuOnnxOps.Activation(b, b.Op("Add", [gi, b.Op("MatMul", [h, g.Floats("blk_W_hh", r.W, l.Units, l.Units)])]), l.HiddenInput!.Activation);
        LmuOnnxOps.BodyOutput(b, next, l.Units);
        if (sequence)
        {
            LmuOnnxOps.BodyOutput(b, next, l.Units);
        }

        return b.Graph;
    }
}
