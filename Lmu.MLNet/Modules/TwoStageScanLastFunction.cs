using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Lmu.MLNet.Modules;

/// <summary>
/// The recurrent LMU cell with a hidden cell, last state only, stepped in two stages (memory, then hidden) instead of
/// the fused s_t = f(s_{t-1} P + c_t) of <see cref="LinearScanLastFunction"/>:
/// <code>
/// r_t   = s_{t-1} E                                  E = [e_m; e_h]      [D, MemoryD]
/// m_t   = m_{t-1} A + r_t Bx + c^m_t                 A = kron(I, Ad^T)   [D_m, D_m]
/// h_t   = f(m_t W + h_{t-1} U + c^h_t)               W [D_m, units], U = W_hh^T [units, units]
/// </code>
/// with c_t = [c^m_t, c^h_t] = X_t V + v0.
/// </summary>
/// <remarks>
/// Why: folding the encoders into P makes every step one [B, D] x [D, D] product, D = D_m + units, where the
/// recurrence itself needs only D_m^2 + D_m units + units^2 (the rank-MemoryD encoder terms are tiny). On psMNIST's
/// rnn_cell (D_m 256, units 212) that is 164,500 instead of 219,000 multiply-adds per row and step, forward and
/// backward: a quarter of the scan's arithmetic. The backward pass walks the steps once, in chunks, and folds each
/// chunk into the weight gradients with one product per weight. Its states come, as in the fused scan, either kept from
/// the forward pass (when they fit in <see cref="LinearScanLastFunction.KeepAllBytes"/>: chunks of
/// <see cref="GradientChunk"/> steps) or recomputed chunk by chunk from a checkpoint kept every
/// <see cref="CheckpointInterval"/> steps (one more forward pass: a third more arithmetic, for
/// O((T/k + 2k) B D) memory instead of O(T B D)). The recomputation repeats the forward pass's operations from the same
/// checkpoint, so both ways give the same gradients.
/// Inputs: X [T, B, C], V [C, D], A, Bx [MemoryD, D_m], W, s0 [B, D], activation, then v0 [D], E, U where present.
/// Output: s_{T-1} [B, D].
/// </remarks>
internal sealed partial class TwoStageScanLastFunction : GuardedFunction<TwoStageScanLastFunction>
{
    public override string Name => "LmuTwoStageScanLast";

    // Steps per chunk of c_t when no backward pass will run: bounds that buffer without changing the arithmetic. Small,
    // so that the states written and read next stay in cache: psMNIST's rnn_cell inference (2-core AMD EPYC, 1 thread)
    // took 0.360 / 0.346 / 0.353 s per batch of 100 with chunks of 32 / 4 / 1, and 1.424 / 1.306 / 1.328 s at batch 400.
    private const int InferenceChunk = 4;

    // Positional inputs (autograd returns one gradient per input): X, V, A, Bx, W, s0, activation, k, hasV0, hasE,
    // hasU, memoryDriveConstant, the caller's kept blocked plans (or null), then v0, E and U where present.
    private const int FixedInputs = 13;

    /// <summary>
    /// s_{T-1} of the two-stage recurrence (see the class remarks); v0, e and u may be null (zero).
    /// <paramref name="memoryDriveConstant"/>: the caller's V and v0 have constant memory columns (a layer with fixed
    /// dynamics: Bx and zeros), so their gradients there are never read and the blocked backward pass does not form
    /// them (they are left 0). <paramref name="plans"/>: where the blocked inference form keeps its plan between
    /// calls (a layer's own, reused while the operands it reads stay the same); null forms it per call.
    /// </summary>
    public static Tensor Apply(Tensor x, Tensor v, Tensor? v0, Tensor a, Tensor? e, Tensor bx, Tensor w, Tensor? u, Tensor s0, LmuActivation activation,
        bool memoryDriveConstant = false, PlanCache? plans = null)
    {
        // Autograd is off inside forward: whether a backward pass follows is decided here, as in LinearScanLastFunction.
        bool backward = torch.is_grad_enabled() && new[] { x, v, v0, a, e, bx, w, u, s0 }.Any(t => t?.requires_grad == true);
        var vars = new List<object> { x, v, a, bx, w, s0, activation, Interval(x, s0, backward), v0 is not null, e is not null, u is not null, memoryDriveConstant, plans! };
        if (v0 is not null) vars.Add(v0);
        if (e is not null) vars.Add(e);
        if (u is not null) vars.Add(u);
        return apply(vars.ToArray());
    }

    // Counts the forward passes that kept checkpoints instead of every state, so tests can tell that path ran.
    private static long _checkpointedPasses;

    internal static long CheckpointedPasses => Interlocked.Read(ref _checkpointedPasses);

    // k: no backward pass to come.
    private const int NoBackward = -1;

    /// <summary>
    /// k for a pass: <see cref="NoBackward"/>, 0 (keep every state: they fit in
    /// <see cref="LinearScanLastFunction.KeepAllBytes"/>, checkpoints are off, or the sequence is no longer than one
    /// interval) or the checkpoint interval.
    /// </summary>
    private static int Interval(Tensor x, Tensor s0, bool backward)
    {
        if (!backward) return NoBackward;
        int k = CheckpointInterval;
        long steps = x.shape[0], bytes = steps * s0.shape[0] * s0.shape[1] * s0.ElementSize;
        return k == 0 || steps <= k || bytes <= LinearScanLastFunction.KeepAllBytes ? 0 : k;
    }

    internal sealed record Operands(Tensor X, Tensor V, Tensor A, Tensor Bx, Tensor W, Tensor S0, LmuActivation Act, int K, Tensor? V0, Tensor? E, Tensor? U)
    {
        public PlanCache? Plans { get; init; }

        public long Steps => X.shape[0];
        public long Batch => S0.shape[0];
        public long D => S0.shape[1];
        public long Dm => A.shape[0];
        public long Units => D - Dm;
    }

    private static Operands Read(IReadOnlyList<object> vars)
    {
        bool hasV0 = (bool)vars[8], hasE = (bool)vars[9], hasU = (bool)vars[10];
        int at = FixedInputs;
        Tensor? v0 = hasV0 ? (Tensor)vars[at++] : null;
        Tensor? e = hasE ? (Tensor)vars[at++] : null;
        Tensor? u = hasU ? (Tensor)vars[at] : null;
        return new Operands((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2], (Tensor)vars[3], (Tensor)vars[4], (Tensor)vars[5], (LmuActivation)vars[6], (int)vars[7], v0, e, u)
        {
            Plans = vars[12] as PlanCache,
        };
    }

    protected override Tensor Forward(AutogradContext ctx, object[] vars)
    {
        var o = Read(vars);
        // A checkpoint interval of at least the sequence keeps every state (one chunk, nothing to checkpoint).
        bool save = o.K != NoBackward, keepAll = o.K == 0 || o.K >= o.Steps;
        if (!save && UseBlocks && BlockedPays(o)) return Blocked(o);
        long steps = o.Steps, batch = o.Batch, d = o.D;
        // Chunk length: the backward pass's chunk when every state is kept, the checkpoint interval, or (nothing to
        // keep) a fixed length that bounds the buffer of c_t without changing the arithmetic.
        long k = Math.Min(!save ? InferenceChunk : keepAll ? GradientChunk : o.K, steps);
        long chunks = (steps + k - 1) / k;
        // Every state kept: one tensor per chunk, not one [T, B, D] tensor. Why: a tensor that large (147 MB for
        // psMNIST's rnn_cell, 587 MB at batch 400) is mapped afresh by the C allocator in every training step, and the
        // kernel clears its pages each time (5 % of the step at batch 400 by perf); chunk-sized tensors (1.5-6 MB) are
        // reused from the allocator's heap from the second step on.
        var parts = keepAll ? new List<Tensor>((int)chunks) : null;
        var buffer = keepAll ? null : torch.empty([k, batch, d], dtype: o.A.dtype, device: o.A.device);
        // The next chunk overwrites the buffer, so the state it starts from is copied out first: into its checkpoint,
        // or (nothing kept) into one hand-off tensor.
        var checkpoints = save && !keepAll && chunks > 1 ? torch.empty([chunks - 1, batch, d], dtype: o.A.dtype, device: o.A.device) : null;
        var needs = save ? Needs.Of(o, memoryColumns: !(bool)vars[11]) : null;
        Tensor? drives = null, ends = null;
        bool blocks = save && TrainsInBlocks(o, needs!, k, keepAll);
        using var handoff = !save && chunks > 1 ? torch.empty([batch, d], dtype: o.A.dtype, device: o.A.device) : null;
        using var r = o.E is null ? null : torch.empty([batch, o.E.shape[1]], dtype: o.A.dtype, device: o.A.device);
        Tensor? next = null, output = null;
        try
        {
            if (blocks) output = BlockedKeep(o, parts!, out drives, out ends);
            else Steps(o, k, chunks, parts, buffer, checkpoints, handoff, r, ref next, ref output);
        }
        catch
        {
            LinearScanFunction.DisposeAfterThrow(parts, next, output, checkpoints, buffer);
            throw;
        }

        buffer?.Dispose();
        if (!save) return output!;
        if (!keepAll) Interlocked.Increment(ref _checkpointedPasses);

        // Kept: the checkpoints, or every state (the chunks, last in the list: their count follows from T and k).
        var saved = new List<Tensor> { o.X, o.V, o.A, o.Bx, o.W, o.S0 };
        if (o.V0 is not null) saved.Add(o.V0);
        if (o.E is not null) saved.Add(o.E);
        if (o.U is not null) saved.Add(o.U);
        if (checkpoints is not null) saved.Add(checkpoints);
        if (drives is not null) saved.Add(drives);
        if (ends is not null) saved.Add(ends);
        if (parts is not null) saved.AddRange(parts);
        ctx.save_for_backward(saved);
        ctx.save_data("act", o.Act);
        // The chunk length actually used: backward walks the same chunks.
        ctx.save_data("k", (int)k);
        ctx.save_data("kept", keepAll);
        ctx.save_data("needs", needs!);
        // Blocks: the kept chunks hold hidden states only, the block ends are kept apart (BlockedTraining.cs).
        ctx.save_data("blocks", blocks);
        ctx.save_data("hasDrives", drives is not null);
        ctx.save_data("hasV0", o.V0 is not null);
        ctx.save_data("hasE", o.E is not null);
        ctx.save_data("hasU", o.U is not null);
        return output!;
    }

    /// <summary>
    /// Runs the forward pass's chunks of k steps: into a new kept tensor each (<paramref name="parts"/>), or into the
    /// reused <paramref name="buffer"/> handing the next chunk's starting state over through its checkpoint or
    /// <paramref name="handoff"/>; the last state is cloned into <paramref name="output"/>.
    /// </summary>
    private static void Steps(Operands o, long k, long chunks, List<Tensor>? parts, Tensor? buffer, Tensor? checkpoints, Tensor? handoff, Tensor? r, ref Tensor? next, ref Tensor? output)
    {
        long steps = o.Steps, batch = o.Batch, d = o.D;
        for (long j = 0; j < chunks; j++)
        {
            long t0 = j * k, len = Math.Min(k, steps - t0);
            if (parts is not null) parts.Add(torch.empty([len, batch, d], dtype: o.A.dtype, device: o.A.device));
            using var states = parts is not null ? parts[^1].alias() : buffer!.narrow(0, 0, len);
            Chunk(o, t0, len, next ?? o.S0, states, r);
            next?.Dispose();
            next = null;
            if (j == chunks - 1)
            {
                using var final = states[len - 1];
                output = final.clone();
                break;
            }

            if (parts is not null)
            {
                next = states[len - 1];                   // a view of a kept chunk: read by the next chunk as it is
                continue;
            }

            using var last = states[len - 1];
            next = checkpoints is not null ? checkpoints[j] : handoff!.alias();
            Release(next.copy_(last), next);
        }
    }

    /// <summary>Writes the states of steps [t0, t0+len) into <paramref name="states"/> [len, B, D], from the state before t0.</summary>
    private static void Chunk(Operands o, long t0, long len, Tensor before, Tensor states, Tensor? r)
    {
        long d = o.D, dm = o.Dm, units = o.Units;
        using (var xs = o.X.narrow(0, t0, len))
        using (var flat = xs.reshape(-1, xs.shape[2]))
        using (var target = states.view(-1, d))
        {
            // c = X V written straight into the buffer (beta = 0 ignores its old contents).
            Release(target.addmm_(flat, o.V, 0, 1), target);
        }

        if (o.V0 is not null) Release(states.PlusInPlace(o.V0), states);
        for (long i = 0; i < len; i++)
        {
            using var previous = i == 0 ? before.alias() : states[i - 1];
            using var st = states[i];
            using var m = st.narrow(1, 0, dm);
            using var h = st.narrow(1, dm, units);
            using var mPrev = previous.narrow(1, 0, dm);
            if (r is not null)
            {
                Release(r.addmm_(previous, o.E!, 0, 1), r);
                Release(m.addmm_(r, o.Bx), m);
            }

            Release(m.addmm_(mPrev, o.A), m);
            Release(h.addmm_(m, o.W), h);
            if (o.U is not null)
            {
                using var hPrev = previous.narrow(1, dm, units);
                Release(h.addmm_(hPrev, o.U), h);
            }

            LinearScanFunction.ActivateInPlace(h, o.Act);
        }
    }

    private static void Release(Tensor result, Tensor target) => LinearScanFunction.Release(result, target);

    protected override List<Tensor> Backward(AutogradContext ctx, Tensor grad)
    {
        var saved = ctx.get_saved_variables();
        var act = (LmuActivation)ctx.get_data("act");
        bool hasV0 = (bool)ctx.get_data("hasV0"), hasE = (bool)ctx.get_data("hasE"), hasU = (bool)ctx.get_data("hasU");
        int at = 6;
        Tensor? v0 = hasV0 ? saved[at++] : null;
        Tensor? e = hasE ? saved[at++] : null;
        Tensor? u = hasU ? saved[at++] : null;
        int k = (int)ctx.get_data("k");
        bool keptAll = (bool)ctx.get_data("kept");
        var o = new Operands(saved[0], saved[1], saved[2], saved[3], saved[4], saved[5], act, keptAll ? 0 : k, v0, e, u);
        var needs = (Needs)ctx.get_data("needs");
        bool blocks = (bool)ctx.get_data("blocks");
        Tensor? drives = (bool)ctx.get_data("hasDrives") ? saved[at++] : null;
        Tensor? ends = blocks ? saved[at++] : null;
        long steps = o.Steps, batch = o.Batch, d = o.D, dm = o.Dm, units = o.Units;
        // Every state (one tensor per chunk of k steps), or the state before each chunk but the first.
        var kept = keptAll ? saved.GetRange(at, saved.Count - at) : null;
        Tensor? checkpoints = keptAll || steps <= k ? null : saved[at];

        using var aT = o.A.t();
        using var wT = o.W.t();
        using var bxT = o.Bx.t();
        using var eT = e?.t();
        using var uT = u?.t();
        var sums = new Sums(o, needs);
        // G[i] = [dL/dm_t, dL/d(pre-activation of h_t)] for the steps of one chunk; folded into the weight gradients
        // chunk by chunk (one product per weight over the chunk's k*B rows), so the buffer is k steps, not T.
        using var gChunk = torch.empty([k, batch, d], dtype: o.A.dtype, device: o.A.device);
        // Checkpointed: one chunk's recomputed states, and the recomputation's r_t.
        using var recomputed = kept is null ? torch.empty([k, batch, d], dtype: o.A.dtype, device: o.A.device) : null;
        using var r = kept is null && e is not null ? torch.empty([batch, e.shape[1]], dtype: o.A.dtype, device: o.A.device) : null;
        using var derivative = torch.empty([batch, units], dtype: o.A.dtype, device: o.A.device);
        using var gr = e is null ? null : torch.empty([batch, e.shape[1]], dtype: o.A.dtype, device: o.A.device);
        var carry = torch.empty([batch, d], dtype: o.A.dtype, device: o.A.device);
        var spare = torch.empty_like(carry);
        using (var g0 = grad.contiguous()) Release(carry.copy_(g0), carry);
        // Whole chunks of BlockLength steps go through the blocked adjoint (BlockedBackwardChunk), unless A wants a
        // gradient (dL/dA pairs gm with the whole memory); a shorter last chunk steps.
        using var adjoint = blocks || (UseBlockedBackward && !needs.A && k == BlockLength) ? AdjointPlan.Create(o, needs.X) : null;
        using var starts = blocks ? new BlockStartSums(o, sums) : null;
        for (long t0 = (steps - 1) / k * k; t0 >= 0; t0 -= k)
        {
            long len = Math.Min(k, steps - t0);
            long chunk = t0 / k;
            using var before = t0 == 0 ? o.S0.alias()
                : ends is not null ? ends[chunk - 1]
                : kept is not null ? kept[(int)chunk - 1][k - 1]
                : checkpoints![chunk - 1];
            using var states = kept is not null ? kept[(int)chunk].alias() : recomputed!.narrow(0, 0, len);
            if (kept is null) Chunk(o, t0, len, before, states, r);
            if (adjoint is not null && len == BlockLength)
            {
                using var gsBlock = gChunk.narrow(0, 0, len);
                using var blockDrives = starts is not null && drives is not null ? drives[chunk] : null;
                BlockedBackwardChunk(o, adjoint, sums, needs.MemoryColumns, before, states, carry, gsBlock, t0, bxT, derivative, starts, blockDrives);
                continue;
            }

            for (long i = len - 1; i >= 0; i--)
            {
                long t = t0 + i;
                using var g = gChunk[i];
                Release(g.copy_(carry), g);
                using var gm = g.narrow(1, 0, dm);
                using var gh = g.narrow(1, dm, units);
                if (act != LmuActivation.Identity)
                {
                    using (var st = states[i])
                    using (var h = st.narrow(1, dm, units))
                    {
                        LinearScanFunction.DerivativeInto(h, act, derivative);
                    }

                    Release(gh.mul_(derivative), gh);
                }

                Release(gm.addmm_(gh, wT), gm);              // m_t also reaches h_t through W
                using var sm = spare.narrow(1, 0, dm);
                using var sh = spare.narrow(1, dm, units);
                Release(sm.addmm_(gm, aT, 0, 1), sm);
                if (uT is not null) Release(sh.addmm_(gh, uT, 0, 1), sh);
                else Release(sh.zero_(), sh);
                if (gr is not null)
                {
                    Release(gr.addmm_(gm, bxT, 0, 1), gr);
                    Release(spare.addmm_(gr, eT!), spare);
                }

                (carry, spare) = (spare, carry);
                // As in the fused scans: vanishing gradients would turn subnormal (slow x86 arithmetic); flush them.
                if ((steps - t) % LinearScanFunction.FlushInterval == 0) LinearScanFunction.FlushTiny(carry);
            }

            using var gs = gChunk.narrow(0, 0, len);
            sums.Add(o, before, states, gs, t0, bxT);
        }

        starts?.Finish(o, adjoint!, sums);
        spare.Dispose();
        saved.ForEach(s => s.Dispose());
        var result = new List<Tensor> { sums.X!, sums.V!, sums.A!, sums.Bx!, sums.W!, carry, null!, null!, null!, null!, null!, null!, null! };
        if (hasV0) result.Add(sums.V0!);
        if (hasE) result.Add(sums.E!);
        if (hasU) result.Add(sums.U!);
        return result;
    }

    /// <summary>
    /// Steps per chunk of the backward pass when every state is kept: each weight-gradient product gets 8 * B rows (800
    /// at batch 100) and the gradient buffer is 8 steps instead of T. Smaller chunks keep a chunk's gradients in cache
    /// between the step loop and the products: psMNIST's rnn_cell training step (2-core AMD EPYC, 1 thread) took 0.95 s
    /// at batch 100 with 4, 8, 16 or 32 steps, and 3.65 / 3.66 / 3.74 / 3.84 s at batch 400.
    /// </summary>
    internal const int GradientChunk = 8;

    /// <summary>
    /// Steps between checkpoints when the states do not fit in <see cref="LinearScanLastFunction.KeepAllBytes"/> (the
    /// recomputed chunk is also the backward pass's chunk); 0 keeps every state. 8 as for <see cref="GradientChunk"/>:
    /// psMNIST's rnn_cell at batch 400 with every step recomputed took 4.78 / 4.93 / 5.06 s per training step with
    /// checkpoints every 8 / 16 / 32 steps, adding about 100 MiB to the peak each (73 MB of checkpoints at 8). Settable
    /// for tests and benches.
    /// </summary>
    internal static int CheckpointInterval { get; set; } = 8;

    /// <summary>
    /// Which inputs autograd wants a gradient for, read in the forward pass (where requires_grad is visible). Why: with
    /// a fixed theta, A and Bx are constants, and dL/dA alone is a D_m x D_m product per row and step (65,500 of the
    /// 494,000 multiply-adds of psMNIST's rnn_cell training step); a gradient nobody reads is not computed (null).
    /// </summary>
    private sealed record Needs(bool X, bool V, bool A, bool Bx, bool W, bool V0, bool E, bool U, bool MemoryColumns)
    {
        public static Needs Of(Operands o, bool memoryColumns)
            => new(Wants(o.X), Wants(o.V), Wants(o.A), Wants(o.Bx), Wants(o.W), Wants(o.V0), Wants(o.E), Wants(o.U), memoryColumns);

        private static bool Wants(Tensor? t) => t?.requires_grad == true;
    }

    /// <summary>The weight gradients that <see cref="Needs"/> asks for, summed chunk by chunk; dL/dX is written per chunk.</summary>
    private sealed class Sums
    {
        public Sums(Operands o, Needs needs)
        {
            X = needs.X ? torch.empty_like(o.X) : null;
            V = needs.V ? torch.zeros_like(o.V) : null;
            A = needs.A ? torch.zeros_like(o.A) : null;
            Bx = needs.Bx ? torch.zeros_like(o.Bx) : null;
            W = needs.W ? torch.zeros_like(o.W) : null;
            V0 = needs.V0 ? torch.zeros_like(o.V0!) : null;
            E = needs.E ? torch.zeros_like(o.E!) : null;
            U = needs.U ? torch.zeros_like(o.U!) : null;
        }

        public Tensor? X { get; }
        public Tensor? V { get; }
        public Tensor? A { get; }
        public Tensor? Bx { get; }
        public Tensor? W { get; }
        public Tensor? V0 { get; }
        public Tensor? E { get; }
        public Tensor? U { get; }

        /// <summary>
        /// Adds the chunk of steps [t0, t0+len) whose states are <paramref name="states"/> and whose G is
        /// <paramref name="gs"/> (both [len, B, D]). Each weight pairs s_{t-1} with G[t]: the state before the chunk
        /// (<paramref name="before"/>: s0, a kept state or a checkpoint) with its first step, the chunk's own states
        /// with the rest (no concatenated copy). <paramref name="hiddenOnly"/>: only gs's gh columns are read (the
        /// blocked adjoint adds every term that reads gm itself, and leaves gs's gm columns unwritten).
        /// <paramref name="memoryKept"/> false: a blocked training pass, whose states are hidden states only
        /// [len, B, units] (dL/dW then comes from <see cref="BlockStartSums"/>).
        /// </summary>
        public void Add(Operands o, Tensor before, Tensor states, Tensor gs, long t0, Tensor bxT, bool hiddenOnly = false, bool memoryKept = true)
        {
            // The backward pass runs outside any dispose scope: this one owns every view and product made here (the
            // sums themselves were made before it and are only updated in place).
            using var scope = NewDisposeScope();
            long d = o.D, dm = o.Dm, units = o.Units, c = o.X.shape[2], len = gs.shape[0];
            using var g = gs.view(-1, d);
            using var gm = g.narrow(1, 0, dm);
            using var gh = g.narrow(1, dm, units);
            using var g0 = gs[0];
            using var gRestSteps = gs.narrow(0, 1, len - 1);
            using var gRest = gRestSteps.view(-1, d);
            using var sPrevSteps = states.narrow(0, 0, len - 1);
            using var sPrev = sPrevSteps.view(-1, memoryKept ? d : units);

            // c_t enters both stages as it is: dL/dX = G V^T, dL/dV = X^T G, dL/dv0 = sum G (hiddenOnly: the gh
            // columns, gh V^h^T, and the first product overwrites dL/dX's chunk, to which the caller adds the rest).
            // dL/dA pairs gm with the memory: a pass that wants it never takes the blocked adjoint (see Backward).
            if (hiddenOnly && A is not null) throw new InvalidOperationException("dL/dA needs gm, which a hidden-only chunk does not hold.");
            using var gRead = hiddenOnly ? gh.alias() : g.alias();
            long from = hiddenOnly ? dm : 0;
            if (V is not null)
            {
                using var xs = o.X.narrow(0, t0, len);
                using var xFlat = xs.reshape(-1, c);
                using var xT = xFlat.t();
                using var vCols = V.narrow(1, from, gRead.shape[1]);
                Release(vCols.addmm_(xT, gRead), vCols);
            }

            if (X is not null)
            {
                using var gx = X.narrow(0, t0, len);
                using var gxFlat = gx.view(-1, c);
                using var vRead = o.V.narrow(1, from, gRead.shape[1]);
                using var vT = vRead.t();
                Release(gxFlat.addmm_(gRead, vT, 0, 1), gxFlat);
            }

            if (V0 is not null)
            {
                using var chunkSum = gRead.sum(dim: 0);
                using var v0Cols = V0.narrow(0, from, gRead.shape[1]);
                Release(v0Cols.PlusInPlace(chunkSum), v0Cols);
            }

            // dL/dW = sum_t m_t^T gh_t (the current memory feeds the hidden stage); from the block starts when the
            // states hold no per-step memory (BlockStartSums).
            if (W is not null && memoryKept)
            {
                using var s = states.view(-1, d);
                using var m = s.narrow(1, 0, dm);
                using var mT = m.t();
                Release(W.addmm_(mT, gh), W);
            }

            // dL/dA = sum_t m_{t-1}^T gm_t, dL/dU = sum_t h_{t-1}^T gh_t.
            if (A is not null) AddPrevious(A, before, sPrev, g0, gRest, 0, dm, 0, dm);
            if (U is not null)
            {
                // Hidden states only (!memoryKept): h is the states' columns from 0, the state before's from D_m.
                using var beforeRows = memoryKept ? before.alias() : before.narrow(1, dm, units);
                AddPrevious(U, beforeRows, sPrev, g0, gRest, memoryKept ? dm : 0, units, dm, units);
            }

            // r_t = s_{t-1} E and gr_t = gm_t Bx^T: dL/dE = sum_t s_{t-1}^T gr_t, dL/dBx = sum_t r_t^T gm_t.
            if (o.E is null || hiddenOnly) return;
            long memD = o.E.shape[1];
            if (E is not null)
            {
                using var grFlat = gm.mm(bxT);
                using var grAll = grFlat.view(len, -1, memD);
                using var gr0 = grAll[0];
                using var grRestSteps = grAll.narrow(0, 1, len - 1);
                using var grRest = grRestSteps.reshape(-1, memD);
                AddPrevious(E, before, sPrev, gr0, grRest, 0, d, 0, memD);
            }

            if (Bx is not null)
            {
                using var rAll = torch.empty([len, o.Batch, memD], dtype: o.A.dtype, device: o.A.device);
                using (var r0 = rAll[0]) Release(r0.addmm_(before, o.E, 0, 1), r0);
                if (len > 1)
                {
                    using var rRestSteps = rAll.narrow(0, 1, len - 1);
                    using var rRest = rRestSteps.view(-1, memD);
                    Release(rRest.addmm_(sPrev, o.E, 0, 1), rRest);
                }

                using var rFlat = rAll.view(-1, memD);
                using var rT = rFlat.t();
                Release(Bx.addmm_(rT, gm), Bx);
            }
        }

        // target += sum_t s_{t-1}[:, rows]^T G[t][:, cols]: the state before the chunk with its first step, then the
        // chunk's states with the rest.
        internal static void AddPrevious(Tensor target, Tensor before, Tensor sPrev, Tensor g0, Tensor gRest, long rowFrom, long rowCount, long colFrom, long colCount)
        {
            using (var a0 = before.narrow(1, rowFrom, rowCount))
            using (var a0T = a0.t())
            using (var b0 = g0.narrow(1, colFrom, colCount))
            {
                Release(target.addmm_(a0T, b0), target);
            }

            if (sPrev.shape[0] == 0) return;
            using var a = sPrev.narrow(1, rowFrom, rowCount);
            using var aT = a.t();
            using var b = gRest.narrow(1, colFrom, colCount);
            Release(target.addmm_(aT, b), target);
        }
    }
}
