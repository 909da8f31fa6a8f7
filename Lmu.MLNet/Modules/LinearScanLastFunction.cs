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
/// The per-step arithmetic and its order are those of the full scan, so the gradients agree to rounding. Every buffer
/// (chunk states, checkpoints, gradients of a chunk, the carried gradient) is allocated once per pass and reused: a
/// fresh multi-megabyte tensor per chunk made glibc's heap grow (its mmap threshold adapts upwards after the first
/// free) to several hundred MB of resident memory that no tensor used, and cost page faults.
/// Inputs: X [T, B, C] (time-major), P [D, D], s0 [B, D], activeFrom, activation, k, then optionally V [C, D] (without
/// it c_t = X_t, C = D) and v0 [D]. Output: s_{T-1} [B, D].
/// </remarks>
internal sealed class LinearScanLastFunction : GuardedFunction<LinearScanLastFunction>
{
    /// <summary>
    /// Steps between checkpoints (k). 32 on psMNIST shapes keeps 25 checkpoints and three 32-step chunk buffers (about
    /// 23 MB for rnn_cell instead of 147 MB of states) while each chunk's dP product still has 3,200 rows, enough for a
    /// full-speed matrix product; the recomputation costs one forward product per step whatever k is. 0 keeps every
    /// state (no recomputation: the reference the checkpointed pass is tested and timed against).
    /// </summary>
    internal static int CheckpointInterval { get; set; } = 32;

    /// <summary>
    /// Every state is kept (no recomputation) when they fit in this many bytes: below it, the recomputation's time
    /// (one more forward product per step, a third more scan arithmetic) is worth more than the memory. The value is
    /// the one <see cref="UseKeepAllBytes"/> set for this flow of execution (a training run's
    /// <see cref="Training.LmuTrainingOptions.ScanStateBudgetMiB"/>), else the process default (settable for tests and
    /// benches). Default 1 GiB: on the 2-core AMD EPYC VM, 1 thread, psMNIST's rnn_cell at batch 400 (587 MB of
    /// states) trained in 4.06 s keeping them and 5.02 s recomputing when the default was chosen (3.39 s kept after the
    /// later changes of BENCHMARKS.md), against the PyTorch peer's 3.2-3.4 s, while the step added 596 MiB to the peak
    /// instead of 102 (the peer: 1,256-1,430 MiB). Each scan ignores it when its own
    /// checkpoint interval (<see cref="CheckpointInterval"/>, <see cref="TwoStageScanLastFunction.CheckpointInterval"/>)
    /// is 0.
    /// </summary>
    internal static long KeepAllBytes => ScopedKeepAllBytes.Value ?? DefaultKeepAllBytes;

    /// <summary>
    /// <see cref="KeepAllBytes"/> outside any <see cref="UseKeepAllBytes"/> scope: what the bench and the tests that call
    /// the scans directly get. A training run always sets its own (<see cref="Training.LmuTrainer"/>).
    /// </summary>
    internal static long DefaultKeepAllBytes { get; set; } = 1L << 30;

    // Per flow of execution (async-local): concurrent fits with different budgets do not see each other's.
    private static readonly AsyncLocal<long?> ScopedKeepAllBytes = new();

    /// <summary>Sets <see cref="KeepAllBytes"/> for this flow of execution until the result is disposed.</summary>
    internal static IDisposable UseKeepAllBytes(long bytes)
    {
        var previous = ScopedKeepAllBytes.Value;
        ScopedKeepAllBytes.Value = bytes;
        return new Restore(() => ScopedKeepAllBytes.Value = previous);
    }

    // Counts the forward passes that kept checkpoints instead of every state, so tests can tell that path ran.
    private static long _checkpointedPasses;

    internal static long CheckpointedPasses => Interlocked.Read(ref _checkpointedPasses);

    private sealed class Restore(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }

    public override string Name => "LmuLinearScanLast";

    /// <summary>Last state of the scan with c_t = X_t V + v0 (v0 may be null).</summary>
    public static Tensor Apply(Tensor x, Tensor v, Tensor? v0, Tensor p, Tensor s0, int activeFrom, LmuActivation activation)
    {
        int k = Interval(x, p, s0, v, v0);
        return v0 is null
            ? apply(x, p, s0, activeFrom, activation, k, true, false, -1L, v)
            : apply(x, p, s0, activeFrom, activation, k, true, true, -1L, v, v0);
    }

    /// <summary>Last state of the scan with c_t = X_t + v0 (X is [T, B, D]; v0 may be null).</summary>
    public static Tensor ApplyDirect(Tensor c, Tensor? v0, Tensor p, Tensor s0, int activeFrom, LmuActivation activation)
    {
        int k = Interval(c, p, s0, null, v0);
        return v0 is null
            ? apply(c, p, s0, activeFrom, activation, k, false, false, -1L)
            : apply(c, p, s0, activeFrom, activation, k, false, true, -1L, v0);
    }

    /// <summary>
    /// Last state of the scan with c_t = X_t + v0, where X comes in blocks, [n, B, L, D] with step t at [t / L, :,
    /// t % L] (n*L &gt;= <paramref name="steps"/>; the steps past it are ignored and get a zero gradient).
    /// </summary>
    /// <remarks>
    /// Why: the blocked projection (<see cref="LmuLayer"/>) computes the hidden input in this layout. Reordering it to
    /// time-major first was one more [T, B, D] tensor per pass (a fresh allocation: page faults and zeroing) and one
    /// more pass over it in each direction; the scan copies its input into its state buffer anyway, and reads blocks
    /// there as cheaply as steps.
    /// </remarks>
    public static Tensor ApplyDirectBlocks(Tensor c, long steps, Tensor? v0, Tensor p, Tensor s0, int activeFrom, LmuActivation activation)
    {
        if (c.dim() != 4 || steps > c.shape[0] * c.shape[2] || c.shape[1] != s0.shape[0] || c.shape[3] != p.shape[0])
        {
            throw new ArgumentException(
                $"Expected blocks [n, {s0.shape[0]}, L, {p.shape[0]}] covering {steps} steps, got [{string.Join(", ", c.shape)}].", nameof(c));
        }

        int k = Interval(c, p, s0, null, v0, steps);
        return v0 is null
            ? apply(c, p, s0, activeFrom, activation, k, false, false, steps)
            : apply(c, p, s0, activeFrom, activation, k, false, true, steps, v0);
    }

    // Without a backward pass to come (inference, or nothing requires a gradient) nothing is kept.
    private const int NoBackward = -1;

    // The chunk length when nothing is kept: bounds the buffer of c_t without changing the arithmetic.
    private const int InferenceChunk = 32;

    private static int Interval(Tensor x, Tensor p, Tensor s0, Tensor? v, Tensor? v0, long steps = -1)
    {
        bool backward = torch.is_grad_enabled()
            && (x.requires_grad || p.requires_grad || s0.requires_grad || v?.requires_grad == true || v0?.requires_grad == true);
        if (!backward) return NoBackward;
        long bytes = (steps >= 0 ? steps : x.shape[0]) * s0.shape[0] * p.shape[0] * s0.ElementSize;
        return bytes <= KeepAllBytes ? 0 : CheckpointInterval;
    }

    // Inputs are positional (autograd returns one gradient per input): X, P, s0, activeFrom, activation, k, hasV,
    // hasV0, the step count of blocked X (-1: X is time-major), then V and v0 where present.
    private const int FixedInputs = 9;

    private sealed record Operands(Tensor X, Tensor P, Tensor S0, int From, LmuActivation Act, int K, Tensor? V, Tensor? V0, long BlockedSteps = -1)
    {
        public bool Blocked => BlockedSteps >= 0;
        public long Steps => Blocked ? BlockedSteps : X.shape[0];
        public long D => P.shape[0];
    }

    private static Operands Read(IReadOnlyList<object> vars)
    {
        bool hasV = (bool)vars[6], hasV0 = (bool)vars[7];
        int at = FixedInputs;
        Tensor? v = hasV ? (Tensor)vars[at++] : null;
        Tensor? v0 = hasV0 ? (Tensor)vars[at] : null;
        long blockedSteps = (long)vars[8];
        // The V paths read X time-major (X_t V per step); blocks come only through ApplyDirectBlocks, without V.
        if (blockedSteps >= 0 && v is not null) throw new InvalidOperationException("Blocked X takes no V.");
        return new Operands((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2], (int)vars[3], (LmuActivation)vars[4], (int)vars[5], v, v0, blockedSteps);
    }

    /// <summary>Copies c_t of steps [t0, t0+len) into <paramref name="target"/> [len, B, D], or (gradient) the other way.</summary>
    private static void CopySteps(Operands o, Tensor blocksOrSteps, long t0, long len, Tensor target, bool intoBlocks)
    {
        if (!o.Blocked)
        {
            using var xs = blocksOrSteps.narrow(0, t0, len);
            if (intoBlocks) Release(xs.copy_(target), xs);
            else Release(target.copy_(xs), target);
            return;
        }

        long l = blocksOrSteps.shape[2];
        for (long done = 0; done < len;)
        {
            long t = t0 + done, offset = t % l, piece = Math.Min(l - offset, len - done);
            using var block = blocksOrSteps[t / l];                                       // [B, L, D]
            using var steps = block.narrow(1, offset, piece);
            using var stepsFirst = steps.transpose(0, 1);                                 // [piece, B, D]
            using var part = target.narrow(0, done, piece);
            if (intoBlocks) Release(stepsFirst.copy_(part), stepsFirst);
            else Release(part.copy_(stepsFirst), part);
            done += piece;
        }
    }

    protected override Tensor Forward(AutogradContext ctx, object[] vars)
    {
        var o = Read(vars);
        long steps = o.Steps, d = o.D, batch = o.S0.shape[0];
        bool keepAll = o.K == 0, save = o.K >= 0;
        // Chunk length: the checkpoint interval, or (every state kept, or none) a fixed length that bounds the
        // chunk-sized buffers of the backward pass without changing the arithmetic.
        int k = (int)Math.Min(o.K > 0 ? o.K : InferenceChunk, steps);
        int chunks = (int)((steps + k - 1) / k);
        // The state before each chunk but the first (that is s0), and one buffer for a chunk's states; when every
        // state is kept, one tensor per chunk instead. Why: one [T, B, D] tensor (66 MB for psMNIST's ff_rnn) is mapped
        // afresh by the C allocator in every training step and the kernel clears its pages each time; chunk-sized
        // tensors are reused from the allocator's heap from the second step on.
        var checkpoints = save && !keepAll && chunks > 1 ? torch.empty([chunks - 1, batch, d], dtype: o.P.dtype, device: o.P.device) : null;
        var parts = keepAll ? new List<Tensor>(chunks) : null;
        var buffer = keepAll ? null : torch.empty([k, batch, d], dtype: o.P.dtype, device: o.P.device);
        // The next chunk overwrites the buffer, so the state it starts from is copied out first: into its checkpoint,
        // or (nothing kept) into one hand-off tensor.
        using var handoff = checkpoints is null && parts is null && chunks > 1 ? torch.empty([batch, d], dtype: o.P.dtype, device: o.P.device) : null;
        var plan = ScanKernel.Prepare(o.P, o.S0, null, k, o.Act, backward: false);
        Tensor? output = null;
        try
        {
            Tensor state = o.S0;
            for (int j = 0; j < chunks; j++)
            {
                long t0 = (long)j * k, len = Math.Min(k, steps - t0);
                if (parts is not null) parts.Add(torch.empty([len, batch, d], dtype: o.P.dtype, device: o.P.device));
                using var states = parts is not null ? parts[^1].alias() : buffer!.narrow(0, 0, len);
                Chunk(o, t0, len, state, states, plan);
                if (!ReferenceEquals(state, o.S0) && !ReferenceEquals(state, handoff)) state.Dispose();
                state = states[len - 1];
                // Kept chunks are never overwritten: the next chunk reads this one's last state where it is.
                if (j < chunks - 1 && parts is null)
                {
                    var next = checkpoints is not null ? checkpoints[j] : handoff!.alias();
                    Release(next.copy_(state), next);
                    state.Dispose();
                    state = next;
                }
            }
            output = state.clone();
            if (!ReferenceEquals(state, o.S0)) state.Dispose();
        }
        catch
        {
            LinearScanFunction.DisposeAfterThrow(parts, output, checkpoints, buffer);
            throw;
        }

        buffer?.Dispose();
        if (!save) return output;
        if (!keepAll) Interlocked.Increment(ref _checkpointedPasses);

        var saved = new List<Tensor> { o.X, o.P, o.S0 };
        if (o.V is not null) saved.Add(o.V);
        if (o.V0 is not null) saved.Add(o.V0);
        if (checkpoints is not null) saved.Add(checkpoints);
        if (parts is not null) saved.AddRange(parts);           // last: their count follows from T and k
        ctx.save_for_backward(saved);
        ctx.save_data("from", o.From);
        ctx.save_data("act", o.Act);
        ctx.save_data("k", k);
        ctx.save_data("kept", keepAll);
        ctx.save_data("hasV", o.V is not null);
        ctx.save_data("hasV0", o.V0 is not null);
        ctx.save_data("blockedSteps", o.BlockedSteps);
        return output;
    }

    /// <summary>Writes the states of steps [t0, t0+len) into <paramref name="states"/> [len, B, D], from the state before t0.</summary>
    private static void Chunk(Operands o, long t0, long len, Tensor before, Tensor states, ScanKernel.Plan? plan)
    {
        long d = o.D;
        if (o.V is null)
        {
            CopySteps(o, o.X, t0, len, states, intoBlocks: false);
        }
        else
        {
            using (var xs = o.X.narrow(0, t0, len))
            {
                // c = X V written straight into the buffer (beta = 0 ignores its old contents).
                using var flat = xs.reshape(-1, xs.shape[2]);
                using var target = states.view(-1, d);
                Release(target.addmm_(flat, o.V, 0, 1), target);
            }
        }
        if (o.V0 is not null) Release(states.PlusInPlace(o.V0), states);
        if (plan is not null)
        {
            ScanKernel.Forward(plan, states, before, o.From);
            return;
        }

        Tensor previous = before;
        for (long i = 0; i < len; i++)
        {
            var st = states[i];
            Release(st.addmm_(previous, o.P), st);
            if (o.From < d)
            {
                using var tail = st.narrow(1, o.From, d - o.From);
                LinearScanFunction.ActivateInPlace(tail, o.Act);
            }
            if (!ReferenceEquals(previous, before)) previous.Dispose();
            previous = st;
        }
        if (!ReferenceEquals(previous, before)) previous.Dispose();
    }

    private static void Release(Tensor result, Tensor target) => LinearScanFunction.Release(result, target);

    protected override List<Tensor> Backward(AutogradContext ctx, Tensor grad)
    {
        var saved = ctx.get_saved_variables();
        int from = (int)ctx.get_data("from"), k = (int)ctx.get_data("k");
        var act = (LmuActivation)ctx.get_data("act");
        bool keptAll = (bool)ctx.get_data("kept"), hasV = (bool)ctx.get_data("hasV"), hasV0 = (bool)ctx.get_data("hasV0");
        int at = 3;
        Tensor x = saved[0], p = saved[1], s0 = saved[2];
        Tensor? v = hasV ? saved[at++] : null;
        Tensor? v0 = hasV0 ? saved[at++] : null;
        var o = new Operands(x, p, s0, from, act, k, v, v0, (long)ctx.get_data("blockedSteps"));
        long steps = o.Steps, d = p.shape[0], batch = s0.shape[0];
        int chunks = (int)((steps + k - 1) / k);
        Tensor? checkpoints = chunks > 1 && !keptAll ? saved[at++] : null;
        var kept = keptAll ? saved.GetRange(at, saved.Count - at) : null;        // one tensor per chunk

        using var pT = p.t();
        using var vT = v?.t();
        var gradP = torch.zeros_like(p);
        var gradV = v is null ? null : torch.zeros_like(v);
        var gradV0 = v0 is null ? null : torch.zeros_like(v0);
        // Blocked X: the padding steps past T get a zero gradient (they never entered the scan).
        var gradX = o.Blocked && steps < x.shape[0] * x.shape[2] ? torch.zeros_like(x) : torch.empty_like(x);
        // Reused for every chunk: its recomputed states, dL/d(pre-activation) of each step, f'(pre).
        using var statesBuffer = kept is null ? torch.empty([k, batch, d], dtype: p.dtype, device: p.device) : null;
        using var gpreBuffer = torch.empty([k, batch, d], dtype: p.dtype, device: p.device);
        bool hasDerivative = from < d && act != LmuActivation.Identity;
        using var derivativeBuffer = hasDerivative ? torch.empty([k, batch, d - from], dtype: p.dtype, device: p.device) : null;
        // dL/ds_t flowing back, in two buffers used in turn (the product of one step is written into the other).
        var carry = torch.empty([batch, d], dtype: p.dtype, device: p.device);
        using (var g = grad.contiguous()) Release(carry.copy_(g), carry);
        var plan = ScanKernel.Prepare(p, s0, null, k, act, backward: true);
        // The managed kernel updates carry in place; only libtorch's loop needs a second buffer.
        var spare = plan is null ? torch.empty_like(carry) : null;
        for (int j = chunks - 1; j >= 0; j--)
        {
            long t0 = (long)j * k, len = Math.Min(k, steps - t0);
            using var start = j == 0 ? s0.alias() : kept is not null ? kept[j - 1][k - 1] : checkpoints![j - 1];
            using var states = kept is not null ? kept[j].alias() : statesBuffer!.narrow(0, 0, len);
            if (kept is null) Chunk(o, t0, len, start, states, plan);
            using var derivative = hasDerivative ? derivativeBuffer!.narrow(0, 0, len) : null;
            if (derivative is not null)
            {
                using var activeStates = states.narrow(2, from, d - from);
                LinearScanFunction.DerivativeInto(activeStates, act, derivative);
            }
            using var gpre = gpreBuffer.narrow(0, 0, len);
            if (plan is not null)
            {
                ScanKernel.Backward(plan, gpre, derivative, carry, from, incoming: false, t0, steps);
            }
            else
            {
                for (long i = len - 1; i >= 0; i--)
                {
                    long t = t0 + i;
                    using var g = gpre[i];
                    Release(g.copy_(carry), g);
                    if (derivative is not null)
                    {
                        using var dt = derivative[i];
                        if (from == 0) Release(g.mul_(dt), g);
                        else
                        {
                            using var gTail = g.narrow(1, from, d - from);
                            Release(gTail.mul_(dt), gTail);
                        }
                    }
                    Release(spare!.addmm_(g, pT, 0, 1), spare);
                    (carry, spare) = (spare, carry);
                    // As in the full scan: vanishing gradients would turn subnormal (slow x86 arithmetic); flush them.
                    if ((steps - t) % LinearScanFunction.FlushInterval == 0) LinearScanFunction.FlushTiny(carry);
                }
            }

            // dP += s_{t-1}^T g_t over the chunk: the state before the chunk with its first step, the chunk's own
            // states with the rest (no concatenated copy).
            using (var g0 = gpre[0]) using (var before = start.t()) Release(gradP.addmm_(before, g0), gradP);
            if (len > 1)
            {
                // Every view named and disposed here: autograd runs this pass on the caller's thread, inside whatever
                // dispose scope it has, or none, where an unnamed view was left to the finalizer (found in review).
                using var prevSteps = states.narrow(0, 0, len - 1);
                using var prev = prevSteps.reshape(-1, d);
                using var prevT = prev.t();
                using var restSteps = gpre.narrow(0, 1, len - 1);
                using var rest = restSteps.reshape(-1, d);
                Release(gradP.addmm_(prevT, rest), gradP);
            }
            using var gFlat = gpre.view(-1, d);
            if (v is not null)
            {
                using var gx = gradX.narrow(0, t0, len);
                using var xSteps = x.narrow(0, t0, len);
                using var xs = xSteps.reshape(-1, x.shape[2]);
                using var xsT = xs.t();
                Release(gradV!.addmm_(xsT, gFlat), gradV);
                using var gxFlat = gx.view(-1, x.shape[2]);
                Release(gxFlat.addmm_(gFlat, vT!, 0, 1), gxFlat);
            }
            else
            {
                CopySteps(o, gradX, t0, len, gpre, intoBlocks: true);
            }
            if (gradV0 is not null)
            {
                using var chunkSum = gFlat.sum(dim: 0);
                Release(gradV0.PlusInPlace(chunkSum), gradV0);
            }
        }
        spare?.Dispose();
        saved.ForEach(t => t.Dispose());
        var result = new List<Tensor> { gradX, gradP, carry, null!, null!, null!, null!, null!, null! };
        if (gradV is not null) result.Add(gradV);
        if (gradV0 is not null) result.Add(gradV0);
        return result;
    }
}
