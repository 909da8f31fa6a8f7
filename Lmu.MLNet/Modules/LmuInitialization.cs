using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

/// <summary>Draws the initial values of encoders and kernels for an <see cref="LmuInitializer"/>.</summary>
internal static class LmuInitialization
{
    /// <summary>
    /// A new float32 [rows, cols] tensor drawn as <see cref="InitialDraws"/> says. fanIn/fanOut as described on
    /// <see cref="LmuInitializer"/>; units is the layer's HiddenUnits. The default initialisers make exactly the draws the layer made before they were a choice
    /// (one uniform_ over the whole tensor), so seeded results stay as they were.
    /// </summary>
    public static Tensor Create(LmuInitializer init, long rows, long cols, long fanIn, long fanOut, int units)
    {
        switch (init)
        {
            case LmuInitializer.Zeros:
                return torch.zeros(rows, cols, dtype: float32);
            case LmuInitializer.RecurrentUniform:
                return Uniform(rows, cols, 1.0 / Math.Sqrt(units));
            case LmuInitializer.LecunUniform:
                return Uniform(rows, cols, Math.Sqrt(3.0 / fanIn));
            case LmuInitializer.XavierUniform:
                return Uniform(rows, cols, Math.Sqrt(6.0 / (fanIn + fanOut)));
            case LmuInitializer.XavierNormal:
                return InitialDraws.Normal(rows, cols, Math.Sqrt(2.0 / (fanIn + fanOut)));
            case LmuInitializer.Orthogonal:
            {
                // Via QR of a Gaussian matrix (sign-corrected, so the result is uniformly distributed).
                using var scope = NewDisposeScope();
                bool wide = rows < cols;
                var g = wide ? InitialDraws.StandardNormal(cols, rows) : InitialDraws.StandardNormal(rows, cols);
                var (q, r) = torch.linalg.qr(g);
                var signs = r.diagonal().sign();
                var o = q * signs.unsqueeze(0);
                return (wide ? o.t() : o).contiguous().MoveToOuterDisposeScope();
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(init), init, "Unknown initializer.");
        }
    }

    private static Tensor Uniform(long rows, long cols, double limit) => InitialDraws.Uniform(limit, rows, cols);
}
