using Lmu.MLNet.Network;

namespace Lmu.MLNet.Onnx;

/// <summary>
/// The LMU layer without a loop, valid when the memory has no recurrent input: the last memory is
/// m_{T-1}[k,:] = sum_t u_t[k] H[T-1-t,:], i.e. (u^T as [N, D, T]) times H reversed in time ([T, q]); the memory at
/// every step (a layer inside a stack) is the causal convolution m_t[k,:] = sum_{s&lt;=t} u_s[k] H[t-s,:], one ONNX Conv.
/// </summary>
internal static class LmuOnnxFeedForwardLayer
{
    /// <summary>Whether the feed-forward form computes this layer exactly.</summary>
    public static bool Supports(LmuLayerSpec l) =>
        l.MemoryIsFeedForward && l.Hidden is HiddenCell.None or HiddenCell.Dense;

    /// <summary>Builds the layer.</summary>
    /// <param name="g">Main graph.</param>
    /// <param name="l">Layer spec.</param>
    /// <param name="steps">Sequence length T.</param>
    /// <param name="ux">Encoded input for all steps [N, T, MemoryD].</param>
    /// <param name="xLast">Input at the last step [N, InputSize].</param>
    public static LmuOnnxLayerResult Build(OnnxGraphBuilder g, LmuLayerSpec l, int steps, string ux, string xLast)
    {
        var q = l.Order;
        LmuImpulseResponse.CheckFitsAModel(steps, l.Order);
        var h = LmuImpulseResponse.Compute(l.Ad, l.Bd, steps, l.ImpulseTruncation);
        // Row t of the kernel multiplies u_t, whose lag at the last step is T-1-t.
        var kernel = new float[steps * q];
        for (var t = 0; t < steps; t++)
        {
            for (var i = 0; i < q; i++)
            {
                kernel[t * q + i] = (float)h[(steps - 1 - t) * q + i];
            }
        }

        // [N, T, D] -> [N*D, T] first, so the product is one [N*D, T] x [T, q] GEMM: a [N, D, T] x [T, q] MatMul ran
        // as N products of [D, T] (matrix-vector products for D = 1, each reading all of H: the bench's ff_dense
        // inference took 1.0 ms in ONNX Runtime against 0.7 ms in TorchSharp, which forms the one product).
        var uT = g.Op("Transpose", [ux], OnnxAttribute.Ints("perm", 0, 2, 1));
        var rows = g.Op("Reshape", [uT, g.Int64s("rows", -1, steps)]);
        var m2 = g.Op("MatMul", [rows, g.Floats("H_rev", kernel, steps, q)]);
        var m = g.Op("Reshape", [m2, g.Int64s("shape", -1, l.MemoryD * q)]);

        if (l.Hidden == HiddenCell.None)
        {
            return new LmuOnnxLayerResult(l.InputToHidden ? g.Op("Concat", [m, xLast], OnnxAttribute.Int("axis", 1)) : m, m, null, null);
        }

        var xPart = l.InputToHidden ? LmuOnnxOps.Dense(g, g, xLast, LmuOnnxHiddenCell.InputPart(l), "W_x") : null;
        var (hidden, _) = LmuOnnxHiddenCell.Step(g, g, l, m, xPart, null, null);
        return new LmuOnnxLayerResult(hidden, m, null, null);
    }

    /// <summary>Builds the layer's output at every step (a layer that feeds another one).</summary>
    /// <param name="g">Main graph.</param>
    /// <param name="l">Layer spec.</param>
    /// <param name="steps">Sequence length T.</param>
    /// <param name="x3">Input [N, T, InputSize].</param>
    /// <param name="ux">Encoded input for all steps [N, T, MemoryD].</param>
    /// <returns>The output sequence [N, T, OutputSize].</returns>
    public static string BuildSequence(OnnxGraphBuilder g, LmuLayerSpec l, int steps, string x3, string ux)
    {
        var q = l.Order;
        LmuImpulseResponse.CheckFitsAModel(steps, l.Order);
        var h = LmuImpulseResponse.Compute(l.Ad, l.Bd, steps, l.ImpulseTruncation);
        // Conv correlates: output[t] = sum_j w[j] in[t + j - (T-1)] with T-1 zeros padded in front, so w[j] = H[T-1-j]
        // gives sum_{s<=t} in[s] H[t-s]. One memory channel per batch row ([N*D, 1, T]); q output channels.
        var weight = new float[q * steps];
        for (var i = 0; i < q; i++)
        {
            for (var j = 0; j < steps; j++)
            {
                weight[i * steps + j] = (float)h[(steps - 1 - j) * q + i];
            }
        }

        var signal = g.Op("Reshape", [g.Op("Transpose", [ux], OnnxAttribute.Ints("perm", 0, 2, 1)), g.Int64s("shape", -1, 1, steps)]);
        var conv = g.Op("Conv", [signal, g.Floats("H_conv", weight, q, 1, steps)], OnnxAttribute.Ints("pads", steps - 1, 0));
        // [N*D, q, T] -> [N, D*q, T] (channel-major k*q + i, the memory's flat layout) -> [N, T, D*q].
        var m = g.Op("Transpose", [g.Op("Reshape", [conv, g.Int64s("shape", -1, l.MemoryD * q, steps)])], OnnxAttribute.Ints("perm", 0, 2, 1));
        if (l.Hidden == HiddenCell.None)
        {
            return l.InputToHidden ? g.Op("Concat", [m, x3], OnnxAttribute.Int("axis", 2)) : m;
        }

        // The hidden cell's products broadcast over the time axis: [N, T, z] x [z, units].
        var xPart = l.InputToHidden ? LmuOnnxOps.Dense(g, g, x3, LmuOnnxHiddenCell.InputPart(l), "W_x") : null;
        var (hidden, _) = LmuOnnxHiddenCell.Step(g, g, l, m, xPart, null, null);
        return hidden;
    }
}
