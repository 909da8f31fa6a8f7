using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Lmu.MLNet.Modules;

/// <summary>
/// The fused recurrence of <see cref="LinearScanFunction"/>, s_t = f(s_{t-1} P + c_t), when only the last state is
/// wanted (a network reading the last step), with c_t = X_t V + v0 built per step from the small per-step input X
/// instead of a [T, B, D] tensor, and a backward pass that recomputes the states from checkpoints.
/// </summary>
/// <remarks>
/// Memory: the full-sequence scan keeps every state [T, B, D] for its backward pass (147 MB for psMNIST's rnn_cell,
/// plus as much again for c, its gradient and their copies). Here the forward pass keeps one state every
/// <see cref="CheckpointInterval"/> steps; the backward pass walks the chunks from the last, recomputes a chunk's k
/// states from its checkpoint (one more forward product per step: the time cost), back-propagates through them and
/// folds the chunk into dP, dV and dv0 with one product each. Working memory is O((T/k + 3k) B D) instead of O(T B D).
/// The per-step arithmetic and its order are those of the full scan, so the gradients agree to rounding.
/// Inputs: X [T, B, C] (time-major), P [D, D], s0 [B, D], activeFrom, activation, k, then optionally V [C, D] (without
/// it c_t = X_t, C = D) and v0 [D]. Output: s_{T-1} [B, D].
/// </remarks>
internal sealed class LinearScanLastFunction : SingleTensorFunction<LinearScanLastFunction>
{
    /// <summary>
    /// Steps between checkpoints (k). 32 on psMNIST shapes keeps 25 checkpoints and three 32-step chunk buffers (about
    /// 23 MB for rnn_cell instead of 147 MB of states) while each chunk's dP product still has 3,200 rows, enough for a
    /// full-speed matrix product; the recomputation costs one forward product per step whatever k is. 0 keeps every
    /// state (no recomputation: the reference the checkpointed pass is tested and timed against).
    /// </summary>
    internal static int CheckpointInterval { get; set; } = 32;

    public override string Name => "LmuLinearScanLast";

    /// <summary>Last state of the scan with c_t = X_t V + v0 (v0 may be null).</summary>
    public static Tensor Apply(Tensor x, Tensor v, Tensor? v0, Tensor p, Tensor s0, int activeFrom, LmuActivation activation)
        => v0 is null
            ? apply(x, p, s0, activeFrom, activation, CheckpointInterval, true, false, v)
            : apply(x, p, s0, activeFrom, activation, CheckpointInterval, true, true, v, v0);

    /// <summary>Last state of the scan with c_t = X_t + v0 (X is [T, B, D]; v0 may be null).</summary>
    public static Tensor ApplyDirect(Tensor c, Tensor? v0, Tensor p, Tensor s0, int activeFrom, LmuActivation activation)
        => v0 is null
            ? apply(c, p, s0, activeFrom, activation, CheckpointInterval, false, false)
            : apply(c, p, s0, activeFrom, activation, CheckpointInterval, false, true, v0);

    // Inputs are positional (autograd returns one gradient per input): X, P, s0, activeFrom, activation, k, hasV,
    // hasV0, then V and v0 where present.
    private const int FixedInputs = 8;

    private sealed record Operands(Tensor X, Tensor P, Tensor S0, int From, LmuActivation Act, int K, Tensor? V, Tensor? V0)
    {
        public long Steps => X.shape[0];
        public long D => P.shape[0];
    }

    private static Operands Read(IReadOnlyList<object> vars)
    {
        bool hasV = (bool)vars[6], hasV0 = (bool)vars[7];
        int at = FixedInputs;
        Tensor? v = hasV ? (Tensor)vars[at++] : null;
        Tensor? v0 = hasV0 ? (Tensor)vars[at] : null;
        return new Operands((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2], (int)vars[3], (LmuActivation)vars[4], (int)vars[5], v, v0);
    }

    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var o = Read(vars);
        long steps = o.Steps;
        int k = o.K <= 0 || o.K >= steps ? (int)steps : o.K;
        bool keepAll = o.K <= 0; // one chunk that is kept: no recomputation
        var checkpoints = new List<Tensor>();   // the state before each chunk but the first (s0)
        Tensor state = o.S0;
        Tensor? kept = null;
        for (long t0 = 0; t0 < steps; t0 += k)
        {
            long len = Math.Min(k, steps - t0);
            if (t0 > 0) checkpoints.Add(state);
            var chunk = Chunk(o, t0, len, state, out var last);
            if (keepAll) kept = chunk;
            else chunk.Dispose();
            state = last;
        }
        var output = state; // a fresh copy of the last state, referenced by nothing else

        var save = new List<Tensor> { o.X, o.P, o.S0 };
        if (o.V is not null) save.Add(o.V);
        if (o.V0 is not null) save.Add(o.V0);
        save.AddRange(checkpoints);
        if (kept is not null) save.Add(kept);
        ctx.save_for_backward(save);
        ctx.save_data("from", o.From);
        ctx.save_data("act", o.Act);
        ctx.save_data("k", k);
        ctx.save_data("kept", kept is not null);
        ctx.save_data("hasV", o.V is not null);
        ctx.save_data("hasV0", o.V0 is not null);
        return output;
    }

    /// <summary>
    /// States of steps [t0, t0+len) from the state before t0: [len, B, D]; <paramref name="last"/> is a copy of the
    /// chunk's last state (a checkpoint that must outlive the chunk buffer).
    /// </summary>
    private static Tensor Chunk(Operands o, long t0, long len, Tensor before, out Tensor last)
    {
        long d = o.D;
        Tensor buffer;
        using (var xs = o.X.narrow(0, t0, len))
        {
            if (o.V is null)
            {
                buffer = xs.contiguous().clone();
            }
            else
            {
                using var flat = xs.reshape(-1, xs.shape[2]);
                using var c = flat.mm(o.V);
                buffer = c.view(len, -1, d);
            }
        }
        if (o.V0 is not null) buffer.PlusInPlace(o.V0);
        Tensor previous = before;
        for (long i = 0; i < len; i++)
        {
            var st = buffer[i];
            st.addmm_(previous, o.P);
            if (o.From < d)
            {
                using var tail = st.narrow(1, o.From, d - o.From);
                LinearScanFunction.ActivateInPlace(tail, o.Act);
            }
            if (!ReferenceEquals(previous, before)) previous.Dispose();
            previous = st;
        }
        last = previous.clone();
        if (!ReferenceEquals(previous, before)) previous.Dispose();
        return buffer;
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor grad)
    {
        var saved = ctx.get_saved_variables();
        int from = (int)ctx.get_data("from"), k = (int)ctx.get_data("k");
        var act = (LmuActivation)ctx.get_data("act");
        bool keptAll = (bool)ctx.get_data("kept"), hasV = (bool)ctx.get_data("hasV"), hasV0 = (bool)ctx.get_data("hasV0");
        int at = 3;
        Tensor x = saved[0], p = saved[1], s0 = saved[2];
        Tensor? v = hasV ? saved[at++] : null;
        Tensor? v0 = hasV0 ? saved[at++] : null;
        long steps = x.shape[0], d = p.shape[0], batch = s0.shape[0];
        int chunks = (int)((steps + k - 1) / k);
        var starts = new List<Tensor> { s0 };
        for (int j = 1; j < chunks; j++) starts.Add(saved[at++]);
        Tensor? kept = keptAll ? saved[at] : null;
        var o = new Operands(x, p, s0, from, act, k, v, v0);

        using var pT = p.t();
        using var vT = v?.t();
        var gradP = torch.zeros_like(p);
        var gradV = v is null ? null : torch.zeros_like(v);
        var gradV0 = v0 is null ? null : torch.zeros_like(v0);
        var gradX = torch.empty_like(x);
        Tensor carry;                                              // dL/ds_t, flowing back
        using (var g = grad.contiguous()) carry = g.clone();
        for (int j = chunks - 1; j >= 0; j--)
        {
            long t0 = (long)j * k, len = Math.Min(k, steps - t0);
            Tensor states;
            if (kept is not null) states = kept.narrow(0, t0, len);
            else
            {
                states = Chunk(o, t0, len, starts[j], out var last);
                last.Dispose();
            }
            using var _states = states;
            using var activeStates = states.narrow(2, from, d - from);
            using var derivative = from < d && act != LmuActivation.Identity ? LinearScanFunction.Derivative(activeStates, act) : null;
            using var gpre = torch.empty_like(states);             // dL/d(pre-activation) of each step of the chunk
            for (long i = len - 1; i >= 0; i--)
            {
                long t = t0 + i;
                using var g = gpre[i];
                g.copy_(carry);
                if (derivative is not null)
                {
                    using var dt = derivative[i];
                    if (from == 0) g.mul_(dt);
                    else
                    {
                        using var gTail = g.narrow(1, from, d - from);
                        gTail.mul_(dt);
                    }
                }
                carry.Dispose();
                carry = g.mm(pT);
                // As in the full scan: vanishing gradients would turn subnormal (slow x86 arithmetic); flush them.
                if ((steps - t) % LinearScanFunction.FlushInterval == 0) LinearScanFunction.FlushTiny(carry);
            }

            // dP += s_{t-1}^T g_t over the chunk: the state before the chunk with its first step, the chunk's own
            // states with the rest (no concatenated copy).
            using (var g0 = gpre[0]) using (var before = starts[j].t()) gradP.addmm_(before, g0);
            if (len > 1)
            {
                using var prev = states.narrow(0, 0, len - 1).reshape(-1, d);
                using var prevT = prev.t();
                using var rest = gpre.narrow(0, 1, len - 1).reshape(-1, d);
                gradP.addmm_(prevT, rest);
            }
            using var gFlat = gpre.view(-1, d);
            using var gx = gradX.narrow(0, t0, len);
            if (v is not null)
            {
                using var xs = x.narrow(0, t0, len).reshape(-1, x.shape[2]);
                using var xsT = xs.t();
                gradV!.addmm_(xsT, gFlat);
                using var gxFlat = gx.view(-1, x.shape[2]);
                using var product = gFlat.mm(vT!);
                gxFlat.copy_(product);
            }
            else
            {
                gx.copy_(gpre);
            }
            if (gradV0 is not null)
            {
                using var chunkSum = gFlat.sum(dim: 0);
                gradV0.PlusInPlace(chunkSum);
            }
        }
        saved.ForEach(t => t.Dispose());
        var result = new List<Tensor> { gradX, gradP, carry, null!, null!, null!, null!, null! };
        if (gradV is not null) result.Add(gradV);
        if (gradV0 is not null) result.Add(gradV0);
        return result;
    }
}
