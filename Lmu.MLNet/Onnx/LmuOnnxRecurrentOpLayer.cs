using Lmu.MLNet.Network;

namespace Lmu.MLNet.Onnx;

/// <summary>
/// A feed-forward memory under a SimpleRnn cell as two ONNX <c>RNN</c> operators instead of a Scan:
/// <list type="bullet">
/// <item>the memory m_t = Ad m_{t-1} + Bd u_t is an RNN with the identity activation (Affine, alpha 1, beta 0), R = Ad
/// and W = Bd, each memory channel of each row being one of its batch rows;</item>
/// <item>the hidden cell h_t = f(z_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) over z_t = [m_t, x_t] is exactly ONNX's RNN
/// (Elman) operator.</item>
/// </list>
/// Why: ONNX Runtime runs each operator as one kernel (all steps' input products as one GEMM, then its own loop over
/// the steps), where a Scan runs its body's nodes once per step. At one row per run, as ML.NET's OnnxTransformer
/// scores, those per-step node costs were most of a row's time (the bench's ff_rnn shape: 784 steps). Only without a
/// length input: the graph right-aligns variable-length rows, and the RNN operator's <c>sequence_lens</c> expects
/// them left-aligned, so masked graphs keep the Scan. Since 2026-12-05 an explicit form only: the blocks
/// (<see cref="LmuOnnxBlockedLayer"/>) took 3.1 ms a row where these operators took 6.2.
/// </summary>
internal static class LmuOnnxRecurrentOpLayer
{
    /// <summary>Whether the two operators compute this layer exactly.</summary>
    public static bool Supports(LmuLayerSpec l) => l.MemoryIsFeedForward && l.Hidden == HiddenCell.SimpleRnn;

    /// <summary>Builds the layer.</summary>
    /// <param name="g">Main graph.</param>
    /// <param name="l">Layer spec.</param>
    /// <param name="steps">Sequence length T.</param>
    /// <param name="x3">Input [N, T, InputSize].</param>
    /// <param name="ux">Encoded input [N, T, MemoryD].</param>
    /// <param name="sequence">Whether to emit h at every step ([N, T, Units], as a stack's inner layer) as the output.</param>
    /// <returns>Output (h at the last step [N, Units], or every step [N, T, Units]) and the last memory [N, MemoryD*Order].</returns>
    public static LmuOnnxLayerResult Build(OnnxGraphBuilder g, LmuLayerSpec l, int steps, string x3, string ux, bool sequence)
    {
        int q = l.Order, d = l.MemoryD, units = l.Units, width = l.HiddenInputSize;

        // Memory: [N, T, D] -> [T, N*D, 1], one batch row per (row, channel); Y [T, 1, N*D, q] -> [T, N, D*q], whose
        // last axis is the memory's flat layout (channel k's q values at k*q).
        var u = g.Op("Reshape", [g.Op("Transpose", [ux], OnnxAttribute.Ints("perm", 1, 0, 2)), g.Int64s("rnn_u", steps, -1, 1)]);
        var memory = g.OpMulti("RNN", [u, g.Floats("rnn_Bd", ToFloats(l.Bd), 1, q, 1), g.Floats("rnn_Ad", ToFloats(l.Ad), 1, q, q)], 2,
            OnnxAttribute.Int("hidden_size", q), OnnxAttribute.Strings("activations", "Affine"),
            OnnxAttribute.Floats("activation_alpha", 1f), OnnxAttribute.Floats("activation_beta", 0f));
        var mSeq = g.Op("Reshape", [memory[0], g.Int64s("rnn_mseq", steps, -1, d * q)]);
        var finalMemory = g.Op("Reshape", [memory[1], g.Int64s("rnn_mlast", -1, d * q)]);

        // Hidden: z_t = [m_t, x_t] time-major; ONNX wants W [1, Units, z] and R [1, Units, Units] (the spec stores
        // both transposed, [z, Units] and [Units, Units]) and B = [b_ih, b_hh].
        var z = l.InputToHidden
            ? g.Op("Concat", [mSeq, g.Op("Transpose", [x3], OnnxAttribute.Ints("perm", 1, 0, 2))], OnnxAttribute.Int("axis", 2))
            : mSeq;
        var input = l.HiddenInput!;
        var recurrent = l.HiddenRecurrent!;
        var bias = new float[2 * units];
        input.B?.CopyTo(bias, 0);
        recurrent.B?.CopyTo(bias, units);
        var (activation, alpha) = Activation(input.Activation);
        var attributes = new List<OnnxAttribute> { OnnxAttribute.Int("hidden_size", units), OnnxAttribute.Strings("activations", activation) };
        if (alpha) attributes.AddRange([OnnxAttribute.Floats("activation_alpha", 1f), OnnxAttribute.Floats("activation_beta", 0f)]);
        var hidden = g.OpMulti("RNN", [z, g.Floats("rnn_W", LmuOnnxOps.Transposed(input.W, width, units), 1, units, width),
            g.Floats("rnn_R", LmuOnnxOps.Transposed(recurrent.W, units, units), 1, units, units), g.Floats("rnn_B", bias, 1, 2 * units)], 2, [.. attributes]);

        var output = sequence
            ? g.Op("Transpose", [g.Op("Reshape", [hidden[0], g.Int64s("rnn_hseq", steps, -1, units)])], OnnxAttribute.Ints("perm", 1, 0, 2))
            : g.Op("Reshape", [hidden[1], g.Int64s("rnn_hlast", -1, units)]);
        return new LmuOnnxLayerResult(output, finalMemory, null, null);
    }

    // ONNX's RNN activations by name; the identity is Affine with alpha 1 and beta 0 (true: those two attributes needed).
    private static (string Name, bool Alpha) Activation(LmuActivation a) => a switch
    {
        LmuActivation.Tanh => ("Tanh", false),
        LmuActivation.Relu => ("Relu", false),
        LmuActivation.Sigmoid => ("Sigmoid", false),
        LmuActivation.Identity => ("Affine", true),
        _ => throw new ArgumentOutOfRangeException(nameof(a), a, "Unknown activation."),
    };

    private static float[] ToFloats(double[] v) => Array.ConvertAll(v, x => (float)x);
}
