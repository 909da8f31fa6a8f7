using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Lmu.MLNet.Modules;

/// <summary>
/// The fused LMU recurrence s_t = f(s_{t-1} P + c_t) as one autograd node, where f is the identity on the first
/// <c>activeFrom</c> state entries (the memory: linear dynamics) and an activation on the rest (the hidden cell).
/// </summary>
/// <remarks>
/// Why a hand-written backward: letting autograd record T steps of matmul/slice/activation costs several graph nodes
/// and allocations per step, and that overhead, not arithmetic, dominates a 784-step psMNIST sequence. Here each step
/// is one in-place <c>addmm_</c> plus one activation forward, one multiply and one matmul backward, and the weight
/// gradient dL/dP = sum_t s_{t-1}^T g_t is a single large matrix product after the loop.
/// Inputs: c [T, B, D] (time-major), P [D, D], s0 [B, D], activeFrom (int), activation (<see cref="LmuActivation"/>).
/// Output: S [T, B, D] with S[t] = s_t.
/// </remarks>
internal sealed class LinearScanFunction : GuardedFunction<LinearScanFunction>
{
    public override string Name => "LmuLinearScan";

    /// <summary>Runs the scan (autograd is off inside, per TorchSharp's Function contract).</summary>
    public static Tensor Apply(Tensor c, Tensor p, Tensor s0, int activeFrom, LmuActivation activation)
        => apply(c, p, s0, activeFrom, activation);

    protected override Tensor Forward(AutogradContext ctx, object[] vars)
    {
        var c = (Tensor)vars[0];
        var p = (Tensor)vars[1];
        var s0 = (Tensor)vars[2];
        int from = (int)vars[3];
        var act = (LmuActivation)vars[4];

        // Named steps, not a chain: a temporary that nothing references could be finalized during the next native call.
        using var cc = c.contiguous();
        var output = cc.clone();
        var plan = ScanKernel.Prepare(p, s0, output, output.shape[0], act, backward: false);
        if (plan is not null) ScanKernel.Forward(plan, output, s0, from);
        else ForwardSteps(output, p, s0, from, act);

        // Save a detached alias of the output: saving the output itself would make it hold its own grad_fn.
        ctx.save_for_backward([output.detach(), p, s0]);
        ctx.save_data("from", from);
        ctx.save_data("act", act);
        return output;
    }

    protected override List<Tensor> Backward(AutogradContext ctx, Tensor grad)
    {
        var saved = ctx.get_saved_variables();
        Tensor states = saved[0], p = saved[1], s0 = saved[2];
        int from = (int)ctx.get_data("from");
        var act = (LmuActivation)ctx.get_data("act");
        long steps = states.shape[0], d = states.shape[2];

        using var gradContiguous = grad.contiguous();
        var gpre = gradContiguous.clone(); // becomes dL/d(pre-activation) step by step, in place
        using var pT = p.t();
        // f'(pre) for every step at once (one op instead of three per step); null when f is the identity everywhere.
        using var activeStates = states.narrow(2, from, d - from);
        using var derivative = from < d && act != LmuActivation.Identity ? Derivative(activeStates, act) : null;
        Tensor carry;                         // dL/ds_{t-1} flowing back through P
        var plan = ScanKernel.Prepare(p, s0, gpre, steps, act, backward: true);
        if (plan is not null)
        {
            carry = torch.zeros([s0.shape[0], d], dtype: p.dtype, device: p.device);
            ScanKernel.Backward(plan, gpre, derivative, carry, from, incoming: true, 0, steps);
        }
        else
        {
            carry = BackwardSteps(gpre, derivative, pT, from);
        }

        // dL/dP = sum_t s_{t-1}^T g_t as one product over all steps.
        using var first = s0.unsqueeze(0);
        using var rest = states.narrow(0, 0, steps - 1);
        using var prev = torch.cat([first, rest], 0);
        using var prevFlat = prev.reshape(-1, d);
        using var prevT = prevFlat.t();
        using var gFlat = gpre.reshape(-1, d);
        var gradP = prevT.mm(gFlat);
        saved.ForEach(x => x.Dispose());
        return [gpre, gradP, carry, null!, null!];
    }

    /// <summary>The libtorch loop of the forward pass: output [T, B, D] holds c on entry and S on exit.</summary>
    private static void ForwardSteps(Tensor output, Tensor p, Tensor s0, int from, LmuActivation act)
    {
        long steps = output.shape[0], d = output.shape[2];
        Tensor? previous = null; // view of s_{t-1} inside output
        for (long t = 0; t < steps; t++)
        {
            var st = output[t];
            Release(st.addmm_(previous ?? s0, p), st);
            if (from < d)
            {
                using var tail = st.narrow(1, from, d - from);
                ActivateInPlace(tail, act);
            }
            previous?.Dispose();
            previous = st;
        }
        previous?.Dispose();
    }

    /// <summary>
    /// The libtorch loop of the backward pass: gpre [T, B, D] holds dL/dS on entry and dL/d(pre-activation) on exit;
    /// returns dL/ds0.
    /// </summary>
    private static Tensor BackwardSteps(Tensor gpre, Tensor? derivative, Tensor pT, int from)
    {
        long steps = gpre.shape[0], d = gpre.shape[2];
        Tensor? carry = null;
        for (long t = steps - 1; t >= 0; t--)
        {
            using var g = gpre[t];
            if (carry is not null) Release(g.PlusInPlace(carry), g);
            if (derivative is not null)
            {
                using var dt = derivative[t];
                if (from == 0)
                {
                    Release(g.mul_(dt), g);
                }
                else
                {
                    using var gTail = g.narrow(1, from, d - from);
                    Release(gTail.mul_(dt), gTail);
                }
            }
            var next = g.mm(pT);
            carry?.Dispose();
            carry = next;
            // A gradient entering at the last step shrinks geometrically on its way back; within a few hundred steps
            // it reaches subnormal floats, on which x86 arithmetic is ~100x slower (measured: the whole backward pass
            // 3x slower on psMNIST shapes). Values this small cannot move any weight, so flush them to zero.
            if ((steps - t) % FlushInterval == 0) FlushTiny(carry);
        }

        return carry!;
    }

    /// <summary>
    /// Drops the handle an in-place op returned. TorchSharp 0.107 returns a new managed handle to the same storage for
    /// an in-place op; left to the dispose scope, each one keeps its storage alive until the whole training step ends
    /// (measured: every 32-step chunk buffer of the checkpointed scan, 138 MB in the forward pass and 280 MB in the
    /// backward pass on psMNIST's rnn_cell). Should a version return the target itself, nothing is disposed.
    /// </summary>
    internal static void Release(Tensor result, Tensor target)
    {
        if (!ReferenceEquals(result, target)) result.Dispose();
    }

    /// <summary>Steps between flushes of tiny gradients (see <see cref="FlushTiny"/>).</summary>
    internal const int FlushInterval = 8;

    /// <summary>Sets entries below 1e-30 (float64: 1e-280) to zero, in place.</summary>
    internal static void FlushTiny(Tensor t)
    {
        // Far above the subnormal range (float32 ~1.2e-38, float64 ~2.2e-308), far below any useful gradient.
        using var tiny = (t.dtype == ScalarType.Float64 ? 1e-280 : 1e-30).ToScalar();
        using var magnitude = t.abs();
        using var small = magnitude.lt(tiny);
        Release(t.masked_fill_(small, TorchScalars.Zero), t);
    }

    /// <summary>f(x) in place.</summary>
    internal static void ActivateInPlace(Tensor x, LmuActivation act)
    {
        switch (act)
        {
            case LmuActivation.Tanh: TanhInPlace(x); break;
            case LmuActivation.Relu: Release(x.relu_(), x); break;
            case LmuActivation.Sigmoid: Release(x.sigmoid_(), x); break;
            case LmuActivation.Identity: break;
            default: throw new ArgumentOutOfRangeException(nameof(act), act, "Unknown activation.");
        }
    }

    /// <summary>
    /// Disposes what a last-step scan's forward pass allocated (its kept chunks, checkpoints, buffers) when it throws
    /// before saving them: nothing else owns them yet.
    /// </summary>
    internal static void DisposeAfterThrow(List<Tensor>? parts, params Tensor?[] tensors)
    {
        parts?.ForEach(t => t.Dispose());
        foreach (var t in tensors) t?.Dispose();
    }

    /// <summary>
    /// tanh(x) in place as 2 sigmoid(2x) - 1. Why: libtorch's tanh runs MKL's high-accuracy vector tanh, 2.7 ns per
    /// value on the 2-core AMD EPYC VM (59 us for a [100, 212] step of psMNIST's rnn_cell, 235 us at batch 400: 6-8 % of
    /// the recurrent configurations' steps by perf); the sigmoid form's four passes over the same cached values take
    /// 30 and 95 us. It differs from tanh by at most 1.8e-7 in float32 (about one unit in the last place near +-1; near
    /// 0, an absolute 6e-8 where sigmoid rounds to 0.5), below what the cell-form comparisons allow (1e-5). Below
    /// <see cref="NativeTanhBelow"/> values the four calls' own cost wins and libtorch's tanh runs (measured on the same
    /// VM: 1.0 against 6.6 us for a one-row step of 212 values, 10.7 against 9.0 us at 4,096, 53 against 20 us at 21,200).
    /// </summary>
    internal static void TanhInPlace(Tensor x)
    {
        // A contiguous CPU tensor: one managed pass (TanhKernel): faster than either form below from a few hundred values
        // on (3.2 against 9.7 us at 4,096), 0.2 us slower than libtorch's tanh at 212 (see there).
        if (TanhKernel.TryApply(x)) return;
        if (x.numel() < NativeTanhBelow)
        {
            Release(x.tanh_(), x);
            return;
        }

        Release(x.mul_(TorchScalars.Two), x);
        Release(x.sigmoid_(), x);
        Release(x.mul_(TorchScalars.Two), x);
        Release(x.sub_(TorchScalars.One), x);
    }

    /// <summary>Tensors of fewer values than this take libtorch's tanh in <see cref="TanhInPlace"/> (see there).</summary>
    internal const long NativeTanhBelow = 4096;

    /// <summary>f'(pre) through the output y = f(pre), written into <paramref name="result"/> (same shape) without temporaries.</summary>
    internal static void DerivativeInto(Tensor y, LmuActivation act, Tensor result)
    {
        switch (act)
        {
            case LmuActivation.Tanh:                                   // 1 + (-1 y) y: two passes, the same rounding as 1 - y^2
                Release(result.fill_(TorchScalars.One), result);
                Release(result.addcmul_(y, y, TorchScalars.MinusOne), result);
                break;
            case LmuActivation.Relu:                                   // y > 0
            {
                using var positive = y.gt(TorchScalars.Zero);
                Release(result.copy_(positive), result);
                break;
            }
            case LmuActivation.Sigmoid:                                // y (1 - y)
                Release(result.copy_(y), result);
                Release(result.neg_(), result);
                Release(result.add_(TorchScalars.One, TorchScalars.One), result);
                Release(result.mul_(y), result);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(act), act, "Unknown activation.");
        }
    }

    /// <summary>f'(pre) expressed through the output y = f(pre).</summary>
    internal static Tensor Derivative(Tensor y, LmuActivation act)
    {
        switch (act)
        {
            case LmuActivation.Tanh:
            {
                using var square = y.mul(y);
                return square.OneMinus();
            }
            case LmuActivation.Relu:
            {
                using var positive = y.gt(TorchScalars.Zero);
                return positive.to(y.dtype);
            }
            case LmuActivation.Sigmoid:
            {
                using var complement = y.OneMinus();
                return y.mul(complement);
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(act), act, "Unknown activation.");
        }
    }
}
