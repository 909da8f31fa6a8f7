using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

public sealed partial class LmuLayer
{
    /// <summary>
    /// Largest folded kernel kept (elements, 64 MiB in float32): the fold trades the impulse response's product for a
    /// [k C, units] kernel held between calls, which for long windows and many channels would cost more memory than
    /// it saves time.
    /// </summary>
    internal const long FoldedKernelMaxElements = 16L << 20;

    // The folded kernel of the last-step Dense form, derived from the weights and reused while they stay the same.
    private readonly DerivedWeights<FoldedDenseKernel> _foldedKernel = new();

    // Counts the calls of FoldedDenseInference, so tests can tell that the path they compare was taken.
    private static long _foldedInferenceCalls;

    internal static long FoldedInferenceCalls => Interlocked.Read(ref _foldedInferenceCalls);

    /// <summary>How many times this layer built its folded inference kernel (tests tell a reuse from a rebuild).</summary>
    internal long FoldedKernelBuilds => _foldedKernel.Builds;

    /// <summary>
    /// Whether the last-step Dense form may run folded: inference only (no autograd, no dropout, so the memory and the
    /// x_t term read the same input), and the folded product [B, k C] x [k C, U] is cheaper per row than the product
    /// with the impulse response and the Dense kernel it replaces (min(C, D) k q + D q U multiply-adds).
    /// </summary>
    private bool CanFoldForInference(long k)
    {
        if (hidden.Kind != HiddenCell.Dense || training || torch.is_grad_enabled()) return false;
        long c = _options.InputSize, d = _options.MemoryD, q = _options.Order, units = hidden.Units;
        long folded = k * c * units;
        return folded <= FoldedKernelMaxElements && folded < (Math.Min(c, d) * k * q) + (d * q * units);
    }

    /// <summary>
    /// The Dense cell's pre-activation on the last step is linear in the window's inputs: with P[s, d, :] = W_m[:, d, :]
    /// H[s] (the Dense kernel's memory columns times the impulse response at lag s),
    /// <code>
    /// pre = sum_{t, c} x[t, c] K[t, c, :] + b',   K[t, c, :] = sum_d e_x[c, d] P[k-1-t, d, :] (+ W_x[:, c] at t = k-1)
    /// b' = b + sum_{s, d} b_u[d] P[s, d, :]
    /// </code>
    /// so inference is one product of the window [B, k C] (a view of x, no copy) with the folded kernel. Why: for the
    /// bench's ff_dense shape (k 784, q 256, 212 units) that is 166,000 multiply-adds per row instead of 255,000, and
    /// three libtorch calls instead of about twelve. The kernel costs k q min(C, D) U multiply-adds to build, so it is
    /// kept (<see cref="DerivedWeights{T}"/>) and rebuilt only when a weight it reads has changed. x [B, T, C] -> [B, U].
    /// </summary>
    private Tensor FoldedDenseInference(Tensor x, long k, DynamicsPass dyn)
    {
        Interlocked.Increment(ref _foldedInferenceCalls);
        long batch = x.shape[0], steps = x.shape[1];
        var sources = new List<Tensor> { hidden.InputWeight! };
        if (hidden.InputBias is not null) sources.Add(hidden.InputBias);
        if (e_x is not null) sources.Add(e_x);
        if (b_u is not null) sources.Add(b_u);
        sources.AddRange(dynamics.LearnedState);
        using var lease = _foldedKernel.Acquire((k, x.dtype, x.device_type, x.device_index), sources, () => BuildFoldedKernel(k, dyn));
        using var window = x.narrow(1, steps - k, k).reshape(batch, -1);                       // [B, k C]
        var pre = lease.Value.Bias is null ? window.mm(lease.Value.Kernel) : torch.addmm(lease.Value.Bias, window, lease.Value.Kernel, 1, 1);
        LinearScanFunction.ActivateInPlace(pre, hidden.Activation);
        return pre;
    }

    private FoldedDenseKernel BuildFoldedKernel(long k, DynamicsPass dyn)
    {
        // Read before this method's own scope opens: the pass caches what it computes for learned dynamics, and the
        // cache belongs to the pass's scope, not to this one, which would dispose it under the pass (found in review).
        var response = dyn.ImpulseResponse(k);
        using var scope = NewDisposeScope();
        int c = _options.InputSize, d = _options.MemoryD, q = _options.Order;
        var w = hidden.InputWeight!;                                                          // [U, D q (+ C)]
        long units = w.shape[0];
        var h = response.narrow(0, 0, k);                                                     // [k, q], row s = lag s
        var wm = w.narrow(1, 0, d * q).view(units, d, q);                                    // [U, D, q]
        // The encoder meets the narrower side first, so no temporary is wider than the kernel itself ([k, min(C, D), U]).
        var byLag = e_x is null
            ? torch.einsum("sj,gcj->scg", h, wm)                                             // [k, C, U] (C = D without e_x)
            : c <= d
                ? torch.einsum("sj,gcj->scg", h, torch.einsum("gdj,cd->gcj", wm, e_x))
                : torch.einsum("cd,sdg->scg", e_x, torch.einsum("sj,gdj->sdg", h, wm));
        var kernel = byLag.flip(0).reshape(k * c, units).contiguous();                        // row t C + c: x[T-k+t, c]
        if (_options.InputToHidden)
        {
            using var lastRows = kernel.narrow(0, (k - 1) * c, c);
            using var wx = w.narrow(1, d * q, c).t();
            LinearScanFunction.Release(lastRows.PlusInPlace(wx), lastRows);
        }
        Tensor? bias = hidden.InputBias?.clone();
        if (b_u is not null)
        {
            var biasResponse = torch.einsum("j,gdj,d->g", h.sum(dim: 0), wm, b_u);           // sum_s H[s] W_m[d] b_u[d]
            bias = bias is null ? biasResponse : bias.Plus(biasResponse);
        }
        return new FoldedDenseKernel(kernel, bias);
    }

    /// <summary>The folded kernel [k C, U] and bias [U] (null when the cell has none and there is no b_u).</summary>
    private sealed class FoldedDenseKernel : TensorOwner
    {
        public FoldedDenseKernel(Tensor kernel, Tensor? bias)
        {
            Kernel = Keep(kernel);
            Bias = bias is null ? null : Keep(bias);
        }

        public Tensor Kernel { get; }

        public Tensor? Bias { get; }
    }
}
