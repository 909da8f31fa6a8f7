using Lmu.MLNet.Modules;

namespace Lmu.MLNet.Onnx;

/// <summary>
/// The LMU layer without a loop, valid when the memory has no recurrent input: the last memory is
/// m_{T-1}[k,:] = sum_t u_t[k] H[T-1-t,:], i.e. (u^T as [N, D, T]) times H reversed in time ([T, q]).
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
        var h = LmuImpulseResponse.Compute(l.Ad, l.Bd, steps);
        // Row t of the kernel multiplies u_t, whose lag at the last step is T-1-t.
        var kernel = new float[steps * q];
        for (var t = 0; t < steps; t++)
        {
            for (var i = 0; i < q; i++)
            {
                kernel[t * q + i] = (float)h[(steps - 1 - t) * q + i];
            }
        }

        var uT = g.Op("Transpose", [ux], OnnxAttribute.Ints("perm", 0, 2, 1));
        var m3 = g.Op("MatMul", [uT, g.Floats("H_rev", kernel, steps, q)]);
        var m = g.Op("Reshape", [m3, g.Int64s("shape", -1, l.MemoryD * q)]);

        if (l.Hidden == HiddenCell.None)
        {
            return new LmuOnnxLayerResult(l.InputToHidden ? g.Op("Concat", [m, xLast], OnnxAttribute.Int("axis", 1)) : m, m, null, null);
        }

        var xPart = l.InputToHidden ? LmuOnnxOps.Dense(g, g, xLast, LmuOnnxHiddenCell.InputPart(l), "W_x") : null;
        var (hidden, _) = LmuOnnxHiddenCell.Step(g, g, l, m, xPart, null, null);
        return new LmuOnnxLayerResult(hidden, m, null, null);
    }
}
