using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

/// <summary>
/// The two-stage recurrence without a backward pass, in blocks of <see cref="BlockLength"/> steps that never form the
/// memory inside a block.
/// </summary>
/// <remarks>
/// Unrolled from the memory m_p before a block (steps t0 + j, j = 0..L-1, drive d_i = [r_i, X_i], G = [Bx; V^m]):
/// <code>
/// m_{t0+j} = m_p A^(j+1) + sum_{i=0..j} (d_i G + v0^m) A^(j-i)
/// </code>
/// The hidden cell reads the memory only through Z = [W, e_m] (m_t W, and m_t e_m for the next r_t), so per block:
/// one product m_p [A Z, A^2 Z, ..., A^L Z] for every step's memory term at once, the inputs' share through a
/// block-Toeplitz matrix of X_i G A^k Z (the inputs are known for the whole block), and per step only the hidden
/// product h U and the recurrent drives r_i (MemoryD columns each) times G A^k Z. The memory itself is formed once at
/// the block's end: m_p A^L + sum_i (d_i G + v0^m) A^(L-1-i).
/// Why: the per-step m A product (D_m^2 multiply-adds per row) is gone; for psMNIST's rnn_cell (D_m 256, 212 units)
/// a step costs about 113,000 multiply-adds per row instead of 164,500, and the memory term comes from wide products
/// (inference: two per block, <see cref="InferenceGroup"/>) instead of L narrow ones. Training runs the same blocks and
/// keeps what its backward pass reads (TwoStageScanLastFunction.BlockedTraining.cs). Equal to the step-by-step form in
/// exact arithmetic; in float32 the sums are reassociated (tested against it at float64 to 1e-10 and float32 to 1e-4).
/// </remarks>
internal sealed partial class TwoStageScanLastFunction
{
    /// <summary>
    /// Steps per block: long enough to amortise the block-end memory product, short enough that A^L stays tame. 8, not
    /// 16: per row and step the block-end product (D_m^2 / L) doubles while the block-Toeplitz input product (L C nz)
    /// and the recurrent drives' share (L/2 MemoryD nz) halve, about even for psMNIST's rnn_cell (112,400 against
    /// 112,600 multiply-adds), and the powers [D_m, L nz] formed per call halve (inference there added 6 MiB instead
    /// of 9 at batch 100, and ran 0.64x the peer instead of 0.65-0.69x, 2026-12-05).
    /// </summary>
    internal const int BlockLength = 8;

    /// <summary>Whether inference may take the blocked form (settable for tests and the bench; default true).</summary>
    internal static bool UseBlocks { get; set; } = true;

    // Counts the blocked forward passes, so tests can tell that path ran.
    private static long _blockedPasses;

    internal static long BlockedPasses => Interlocked.Read(ref _blockedPasses);

    /// <summary>
    /// Whether the blocks pay. Per row and step they drop m A (D_m^2 multiply-adds) and X V (C D) and add the dense
    /// block-Toeplitz input product (L C nz), the recurrent drives' share (about L/2 MemoryD nz) and the block-end
    /// memory (D_m^2 / L + C D_m); once per pass the powers A^k Z and A^L cost about L D_m^2 nz + 4 D_m^3. So wide
    /// inputs (many channels), short sequences and narrow batches (a single row scored by the TorchSharp network) keep
    /// the step-by-step form. Encoders whose MemoryD differs from Bx's rows (which the step form rejects) do too.
    /// </summary>
    private static bool BlockedPays(Operands o)
    {
        const long l = BlockLength;
        long mem = o.E?.shape[1] ?? 0, nz = o.Units + mem, c = o.X.shape[2], dm = o.Dm;
        if (o.E is not null && mem != o.Bx.shape[0]) return false;
        long saved = (dm * dm) + (c * o.D);
        long added = (l * c * nz) + (l / 2 * mem * nz) + (dm * dm / l) + (c * dm);
        return o.Steps >= 2 * l && saved > 2 * added && o.Steps * o.Batch > 4 * ((l * nz) + (4 * dm));
    }

    /// <summary>
    /// Steps whose memory terms an inference pass holds at once: a block's [B, L nz] terms come from two products of half
    /// its width (L / 2 steps each). Why: at L (one product per block) that buffer was the largest thing an inference call formed
    /// (682 KB of psMNIST's rnn_cell's 1.5 MiB at batch 100, against the PyTorch peer's 0.8-0.9 MiB per call).
    /// </summary>
    internal const int InferenceGroup = BlockLength / 2;

    private static Tensor Blocked(Operands o)
    {
        long steps = o.Steps, batch = o.Batch, d = o.D;
        const int l = BlockLength;
        long full = steps / l, rest = steps % l;
        using var lease = o.Plans?.Acquire(o);
        using var own = lease is null ? BlockedPlan.Create(o) : null;
        var plan = lease?.Value ?? own!;
        long mem = plan.Mem;
        var dtype = o.A.dtype;
        var device = o.A.device;
        using var buffers = new BlockBuffers(o, plan, InferenceGroup);
        var (state, y, xb, me) = (buffers.State, buffers.Y, buffers.Xb, buffers.Me);
        using var rh = mem > 0 ? torch.empty([batch, l * mem], dtype: dtype, device: device) : null;
        for (long b = 0; b < full; b++)
        {
            Block(o, plan, b * l, buffers.M, buffers.H, y, xb, rh, me, buffers.MNext);
            buffers.Swap();
        }

        Interlocked.Increment(ref _blockedPasses);
        buffers.SettleMemory();
        if (rest == 0) return buffers.TakeState();

        // The last, shorter block steps as the step-by-step form does: it would need its own powers.
        using var states = torch.empty([rest, batch, d], dtype: dtype, device: device);
        using var r = o.E is null ? null : torch.empty([batch, mem], dtype: dtype, device: device);
        Chunk(o, full * l, rest, state, states, r);
        using var last = states[rest - 1];
        return last.clone();
    }

    /// <summary>
    /// What <see cref="Block"/> works in: the state [B, D] = [m, h] (from s0; also the pass's result), a second memory
    /// [B, D_m] that the blocks alternate with the state's memory columns, the memory terms of <c>slots</c> steps
    /// [B, slots nz], the block's inputs [B, L C] and the memory's recurrent share [B, MemoryD] (null without recurrent
    /// encoders).
    /// </summary>
    private sealed class BlockBuffers : IDisposable
    {
        private readonly Tensor _stateMemory, _spare;
        private bool _stateTaken;

        public BlockBuffers(Operands o, BlockedPlan plan, int slots)
        {
            const int l = BlockLength;
            var (dtype, device) = (o.A.dtype, o.A.device);
            State = o.S0.clone();   // contiguous even from an expanded s0 (libtorch clones a non-dense tensor to contiguous strides)
            try
            {
                _stateMemory = State.narrow(1, 0, o.Dm);
                H = State.narrow(1, o.Dm, o.Units);
                _spare = torch.empty([o.Batch, o.Dm], dtype: dtype, device: device);
                Y = torch.empty([o.Batch, slots * plan.Nz], dtype: dtype, device: device);
                Xb = torch.empty([o.Batch, l * o.X.shape[2]], dtype: dtype, device: device);
                Me = plan.Mem > 0 ? torch.empty([o.Batch, plan.Mem], dtype: dtype, device: device) : null;
                M = _stateMemory;
                MNext = _spare;
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public Tensor State { get; }

        /// <summary>The memory before the next block: the state's columns or the spare, alternately.</summary>
        public Tensor M { get; private set; } = null!;

        /// <summary>Where the next block writes its end memory (the other of the two).</summary>
        public Tensor MNext { get; private set; } = null!;

        /// <summary>The state's hidden columns (a view of <see cref="State"/>, row stride D).</summary>
        public Tensor H { get; } = null!;

        public Tensor Y { get; } = null!;

        public Tensor Xb { get; } = null!;

        public Tensor? Me { get; }

        /// <summary>
        /// Hands the state to the caller as the pass's result (not a view of it: autograd treats views of a forward
        /// pass's outputs specially); the buffers no longer dispose it.
        /// </summary>
        public Tensor TakeState()
        {
            _stateTaken = true;
            return State;
        }

        /// <summary>After a block: its end memory becomes the memory the next block starts from.</summary>
        public void Swap() => (M, MNext) = (MNext, M);

        /// <summary>Puts the last memory into the state's columns (it is in the spare after an odd number of blocks).</summary>
        public void SettleMemory()
        {
            if (ReferenceEquals(M, _stateMemory)) return;
            Release(_stateMemory.copy_(M), _stateMemory);
            Swap();
        }

        public void Dispose()
        {
            H?.Dispose();
            _stateMemory?.Dispose();
            _spare?.Dispose();
            Y?.Dispose();
            Xb?.Dispose();
            Me?.Dispose();
            if (!_stateTaken) State.Dispose();
        }
    }

    /// <summary>
    /// Advances the state (m, h) over steps [t0, t0 + L); the new memory is written to <paramref name="mNext"/>. The
    /// memory terms come <c>slots</c> steps at a time (y is [B, slots nz]; slots divides L).
    /// </summary>
    private static void Block(Operands o, BlockedPlan plan, long t0, Tensor m, Tensor h, Tensor y, Tensor xb, Tensor? rh, Tensor? me, Tensor mNext)
    {
        const int l = BlockLength;
        long batch = o.Batch, units = o.Units, nz = plan.Nz, mem = plan.Mem, c = o.X.shape[2];
        int slots = (int)(y.shape[1] / nz);
        using (var xs = o.X.narrow(0, t0, l))
        using (var xt = xs.permute(1, 0, 2))
        using (var xv = xb.view(batch, l, c))
        {
            Release(xv.copy_(xt), xv);
        }

        using var acc = y.view(batch, slots, nz);
        if (me is not null) Release(me.addmm_(m, plan.Em!, 0, 1), me);
        for (int g = 0; g < l; g += slots)
        {
            if (g > 0)
            {
                // The group before ends in the slot this one overwrites first: its h and m e_m carry over.
                using var carried = acc.select(1, slots - 1);
                using var hCarried = carried.narrow(1, 0, units);
                Release(h.copy_(hCarried), h);
                if (me is not null)
                {
                    using var meCarried = carried.narrow(1, units, mem);
                    Release(me.copy_(meCarried), me);
                }
            }

            // These steps' memory terms from m_p and the block's inputs (only inputs up to the group's last step reach
            // it); step j reads and completes its slot in place (a [B, nz] view with row stride slots nz, which the
            // products take as it is: no step-major copy).
            using (var powers = plan.Powers.narrow(1, g * nz, slots * nz))
            using (var inputRows = plan.Inputs.narrow(0, 0, (g + slots) * c))
            using (var inputs = inputRows.narrow(1, g * nz, slots * nz))
            using (var xg = xb.narrow(1, 0, (g + slots) * c))
            {
                Release(y.addmm_(m, powers, 0, 1), y);
                Release(y.addmm_(xg, inputs, 1, 1), y);
            }

            if (plan.Constant is not null)
            {
                using var constant = plan.Constant.narrow(0, g, slots);
                Release(acc.PlusInPlace(constant), acc);
            }

            for (int s = 0; s < slots; s++)
            {
                int j = g + s;
                using var pre = acc.select(1, s);
                using var previous = s == 0 ? null : acc.select(1, s - 1);
                using var hPrev = previous is null ? h.alias() : previous.narrow(1, 0, units);
                if (rh is not null)
                {
                    // r_j = m_{t-1} e_m + h_{t-1} e_h, then its share and the earlier r_i's in this step's memory terms.
                    using var rj = rh.narrow(1, j * mem, mem);
                    using var mePrev = previous is null ? me!.alias() : previous.narrow(1, units, mem);
                    Release(rj.copy_(mePrev), rj);
                    Release(rj.addmm_(hPrev, plan.Eh!, 1, 1), rj);
                    using var rs = rh.narrow(1, 0, (j + 1) * mem);
                    using var ks = plan.Recurrent!.narrow(0, (l - 1 - j) * mem, (j + 1) * mem);
                    Release(pre.addmm_(rs, ks, 1, 1), pre);
                }

                using var hPre = pre.narrow(1, 0, units);
                if (o.U is not null) Release(hPre.addmm_(hPrev, o.U, 1, 1), hPre);
                LinearScanFunction.ActivateInPlace(hPre, o.Act);
            }
        }

        // The memory at the block's end, and the last hidden state.
        Release(mNext.addmm_(m, plan.PowerL, 0, 1), mNext);
        Release(mNext.addmm_(xb, plan.EndInputs, 1, 1), mNext);
        if (rh is not null) Release(mNext.addmm_(rh, plan.EndRecurrent!, 1, 1), mNext);
        if (plan.EndConstant is not null) Release(mNext.PlusInPlace(plan.EndConstant), mNext);
        using var lastStep = acc.select(1, slots - 1);
        using var hLast = lastStep.narrow(1, 0, units);
        Release(h.copy_(hLast), h);
    }
}
