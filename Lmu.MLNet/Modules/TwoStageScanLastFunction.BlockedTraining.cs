using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

/// <summary>
/// Training through the blocked forward form: the forward pass runs in blocks of <see cref="BlockLength"/> steps as
/// inference does, and the backward pass (the blocked adjoint) recovers what it read from the per-step memory from the
/// memory at each block's start.
/// </summary>
/// <remarks>
/// The blocked adjoint reads every step's hidden state, but the memory m_t only in two weight sums, dL/dW = sum_t
/// m_t^T gh_t and the memory rows of dL/dE = sum_t m_{t-1}^T gr_t. Inside a block (steps t0 + j, memory m_p before it,
/// drive d_i = [r_i, X_i, 1], G = [Bx; V^m; v0^m] by rows) the memory is m_{t0+j} = m_p A^(j+1) + sum_{i&lt;=j} d_i G
/// A^(j-i), so
/// <code>
/// sum_j m_{t0+j}^T gh_j = sum_j (A^T)^(j+1) [m_p^T gh_j] + sum_k (A^T)^k G^T [sum_i d_i^T gh_(i+k)]
/// </code>
/// (and the same with gr and one lag less for dL/dE). The bracketed products are summed over every block of the pass
/// ([D_m, L units] and [L n, L units] accumulators, n = MemoryD + C + 1 less G's zero rows), and the powers of A^T
/// apply once, at the end.
/// Why: the forward pass no longer forms m_t at every step (D_m^2 multiply-adds per row and step: the blocked form's
/// 113,000 instead of 164,500 for psMNIST's rnn_cell), and m_p^T gh costs what sum_t m_t^T gh_t did. The pass keeps
/// every step's hidden state ([L, B, units] per block) and the state at each block's end (the next block's m_p and
/// h_{t0-1}), no per-step memory. Applies when A and Bx want no gradient (fixed dynamics: dL/dA
/// and dL/dBx pair gm or r with the whole memory) and every state fits the keep-all budget; the steps after the last
/// whole block run, and are kept, step by step.
/// </remarks>
internal sealed partial class TwoStageScanLastFunction
{
    /// <summary>Whether training may take the blocked forward form (settable for tests and the bench; default true).</summary>
    internal static bool UseBlockedTraining { get; set; } = true;

    // Counts the training passes that ran in blocks, so tests can tell that path ran.
    private static long _blockedTrainingPasses;

    internal static long BlockedTrainingPasses => Interlocked.Read(ref _blockedTrainingPasses);

    /// <summary>Whether this training pass runs in blocks (see the remarks): chunks of one block, states kept, A and Bx fixed.</summary>
    private static bool TrainsInBlocks(Operands o, Needs needs, long k, bool keepAll)
        => UseBlockedTraining && UseBlocks && UseBlockedBackward && keepAll && k == BlockLength && !needs.A && !needs.Bx && BlockedPays(o);

    /// <summary>
    /// The blocked forward pass keeping one [L, B, units] tensor of hidden states per block in <paramref name="parts"/>,
    /// the state at each block's end [blocks, B, D] in <paramref name="ends"/> (the next block's s_{t0-1}) and the
    /// recurrent drives r [blocks, B, L MemoryD] in <paramref name="drives"/> (null without recurrent encoders); the
    /// steps after the last whole block are stepped and kept whole ([rest, B, D]). Returns s_{T-1}.
    /// </summary>
    /// <remarks>
    /// Why hidden states only: the backward pass reads the memory at block ends alone, and the memory columns of a
    /// [L, B, D] part were allocated for every step (psMNIST's rnn_cell: 147 MB of kept parts at batch 100, 85 MB
    /// with hidden states and block ends).
    /// </remarks>
    private static Tensor BlockedKeep(Operands o, List<Tensor> parts, out Tensor? drives, out Tensor ends)
    {
        long steps = o.Steps, batch = o.Batch, dm = o.Dm, units = o.Units, d = o.D;
        const int l = BlockLength;
        long full = steps / l, rest = steps % l;
        using var plan = BlockedPlan.Create(o);
        long nz = plan.Nz, mem = plan.Mem;
        var dtype = o.A.dtype;
        var device = o.A.device;
        using var buffers = new BlockBuffers(o, plan, l);
        var (state, y, xb, me) = (buffers.State, buffers.Y, buffers.Xb, buffers.Me);
        (drives, ends) = (null, null!);
        try
        {
            // Inside the try: if the second allocation fails, the first is disposed below, not left to a finalizer.
            drives = mem > 0 ? torch.empty([full, batch, l * mem], dtype: dtype, device: device) : null;
            ends = torch.empty([full, batch, d], dtype: dtype, device: device);
            for (long b = 0; b < full; b++)
            {
                using var rh = drives?[b];                                              // [B, L mem], written by Block
                Block(o, plan, b * l, buffers.M, buffers.H, y, xb, rh, me, buffers.MNext);
                var part = torch.empty([l, batch, units], dtype: dtype, device: device);
                parts.Add(part);
                using (var acc = y.view(batch, l, nz))
                using (var hy = acc.narrow(2, 0, units))
                using (var hyT = hy.transpose(0, 1))
                {
                    Release(part.copy_(hyT), part);
                }

                using (var end = ends[b])
                using (var endM = end.narrow(1, 0, dm))
                using (var endH = end.narrow(1, dm, units))
                using (var lastH = part[l - 1])
                {
                    Release(endM.copy_(buffers.MNext), endM);
                    Release(endH.copy_(lastH), endH);
                }

                buffers.Swap();
            }

            Interlocked.Increment(ref _blockedTrainingPasses);
            buffers.SettleMemory();
            if (rest == 0) return buffers.TakeState();
            var tail = torch.empty([rest, batch, d], dtype: dtype, device: device);
            parts.Add(tail);
            using var r = o.E is null ? null : torch.empty([batch, mem], dtype: dtype, device: device);
            Chunk(o, full * l, rest, state, tail, r);
            using var last = tail[rest - 1];
            return last.clone();
        }
        catch
        {
            LinearScanFunction.DisposeAfterThrow(parts, drives, ends);
            throw;
        }
    }

    /// <summary>
    /// The sums of the remarks for dL/dW and the memory rows of dL/dE, gathered block by block in the backward pass and
    /// turned into the gradients by <see cref="Finish"/>.
    /// </summary>
    private sealed class BlockStartSums : IDisposable
    {
        /// <summary>
        /// Blocks gathered before their products run. Why: one block's m_p^T gh has only the batch as its inner
        /// dimension (100 for the bench) and a [D_m, L units] result (1.7 MB for psMNIST's rnn_cell) that each product
        /// reads and writes again; per block that ran at a fraction of the matmul rate (the backward pass 70 ms slower
        /// than with the per-step memory, which sums over 8 steps at once). Eight blocks per product give the same
        /// inner dimension as that per-step sum.
        /// </summary>
        private const int Gather = 8;

        private readonly Tensor? _w, _wPairs, _e, _ePairs;
        private readonly Tensor _starts, _drives, _gh;
        private readonly Tensor? _gr;

        // G's rows that are not zero, and their drive columns: a zero row adds nothing (the raw input's row when only the
        // hidden cell reads it, a zero v0^m), so its column is left out of every product.
        private readonly Tensor _rows, _g;
        private readonly long _n;
        private int _held;

        public BlockStartSums(Operands o, Sums sums)
        {
            const int l = BlockLength;
            long dm = o.Dm, units = o.Units, mem = o.E?.shape[1] ?? 0, batch = o.Batch;
            var dtype = o.A.dtype;
            var device = o.A.device;
            using (var scope = NewDisposeScope())
            {
                var parts = new List<Tensor>();
                if (mem > 0) parts.Add(o.Bx);
                parts.Add(o.V.narrow(1, 0, dm));
                if (o.V0 is not null) parts.Add(o.V0.narrow(0, 0, dm).unsqueeze(0));
                var g = torch.cat(parts, 0);                                               // G [n, D_m] by rows
                _rows = g.ne(TorchScalars.Zero).any(1).nonzero().view(-1).DetachFromDisposeScope();
                _g = g.index_select(0, _rows).DetachFromDisposeScope();
            }

            _n = _rows.shape[0];
            if (sums.W is not null)
            {
                _w = torch.zeros([dm, l * units], dtype: dtype, device: device);
                _wPairs = torch.zeros([l * _n, l * units], dtype: dtype, device: device);
            }

            if (sums.E is not null && mem > 0)
            {
                _e = torch.zeros([dm, l * mem], dtype: dtype, device: device);
                _ePairs = torch.zeros([l * _n, l * mem], dtype: dtype, device: device);
            }

            _starts = torch.empty([Gather, batch, dm], dtype: dtype, device: device);
            _drives = torch.empty([Gather, batch, l * _n], dtype: dtype, device: device);
            _gh = torch.empty([Gather, batch, l * units], dtype: dtype, device: device);
            _gr = _e is null ? null : torch.empty([Gather, batch, l * mem], dtype: dtype, device: device);
        }

        /// <summary>
        /// Adds the block [t0, t0 + L): <paramref name="before"/> s_{t0-1} (its memory is m_p), <paramref name="drives"/>
        /// the block's r [B, L MemoryD] in step order (null without recurrent encoders), gh [B, L units] and gr [B, L
        /// MemoryD] in the backward order of <see cref="BlockedBackwardChunk"/> (block i is step t0 + L - 1 - i).
        /// </summary>
        public void Add(Operands o, Tensor before, Tensor? drives, long t0, Tensor gh, Tensor? gr)
        {
            if (_w is null && _e is null) return;
            const int l = BlockLength;
            using var scope = NewDisposeScope();
            long batch = o.Batch;
            _starts[_held].copy_(before.narrow(1, 0, o.Dm));
            // [r, X, 1] per step, in the same backward order: [B, L n].
            var columns = new List<Tensor>();
            if (drives is not null) columns.Add(drives.view(batch, l, -1).permute(1, 0, 2));
            columns.Add(o.X.narrow(0, t0, l));
            if (o.V0 is not null) columns.Add(torch.ones([l, batch, 1], dtype: o.A.dtype, device: o.A.device));
            if (_n > 0) _drives[_held].copy_(BackwardColumns(torch.cat(columns, 2).index_select(2, _rows)));
            _gh[_held].copy_(gh);
            if (_gr is not null && gr is not null) _gr[_held].copy_(gr);
            if (++_held == Gather) Flush();
        }

        // The held blocks' products, each over Gather * B rows.
        private void Flush()
        {
            if (_held == 0) return;
            using var scope = NewDisposeScope();
            long dm = _starts.shape[2];
            var startsT = _starts.narrow(0, 0, _held).view(-1, dm).t();                 // [D_m, held B]
            var drivesT = _n > 0 ? _drives.narrow(0, 0, _held).view(-1, _drives.shape[2]).t() : null;   // [L n, held B]
            if (_w is not null)
            {
                var gh = _gh.narrow(0, 0, _held).view(-1, _gh.shape[2]);
                _w.addmm_(startsT, gh);
                if (drivesT is not null) _wPairs!.addmm_(drivesT, gh);
            }

            if (_e is not null)
            {
                var gr = _gr!.narrow(0, 0, _held).view(-1, _gr.shape[2]);
                _e.addmm_(startsT, gr);
                if (drivesT is not null) _ePairs!.addmm_(drivesT, gr);
            }

            _held = 0;
        }

        /// <summary>
        /// Adds the gathered sums to dL/dW and to dL/dE's memory rows, with the powers (A^T)^i of the pass's adjoint
        /// <paramref name="plan"/>.
        /// </summary>
        public void Finish(Operands o, AdjointPlan plan, Sums sums)
        {
            if (_w is null && _e is null) return;
            Flush();
            const int l = BlockLength;
            using var scope = NewDisposeScope();
            long dm = o.Dm, units = o.Units, mem = o.E?.shape[1] ?? 0;
            var powers = new Tensor[l + 1];                                           // (A^T)^k
            for (int k = 0; k < l; k++) powers[k] = plan.Powers.narrow(0, k * dm, dm);
            powers[l] = plan.PowerL;
            var gT = _g.t();                                                          // G^T [D_m, n]
            // [(A^T)^0 G^T, ..., (A^T)^(L-1) G^T] [D_m, L n]: the lag sums then take one product.
            var powersG = torch.cat(Enumerable.Range(0, l).Select(k => powers[k].mm(gT)).ToArray(), 1);

            if (_w is not null)
            {
                // Block i of the start sums is step j = L-1-i: power j + 1 = L - i. Pair (a, b) of the drive sums is
                // drive step L-1-a with gh step L-1-b, lag a - b >= 0.
                for (int i = 0; i < l; i++) sums.W!.addmm_(powers[l - i], _w.narrow(1, i * units, units));
                var lags = torch.cat(Enumerable.Range(0, l).Select(k => LagSum(_wPairs!, k, units)).ToArray(), 0);   // [L n, units]
                if (_n > 0) sums.W!.addmm_(powersG, lags);
            }

            if (_e is not null)
            {
                // dL/dE pairs r_t's gradient with m_{t-1}: block i (step j = L-1-i) takes power j, the lags one less.
                var eMemory = sums.E!.narrow(0, 0, dm);
                for (int i = 0; i < l; i++) eMemory.addmm_(powers[l - 1 - i], _e.narrow(1, i * mem, mem));
                var lags = torch.cat(Enumerable.Range(0, l - 1).Select(k => LagSum(_ePairs!, k + 1, mem)).ToArray(), 0);   // [(L-1) n, mem]
                if (_n > 0) eMemory.addmm_(powersG.narrow(1, 0, (l - 1) * _n), lags);
            }
        }

        // sum_b pairs[(b + lag) block, b block], each block [n, width].
        private Tensor LagSum(Tensor pairs, int lag, long width)
        {
            const int l = BlockLength;
            var sum = torch.zeros([_n, width], dtype: pairs.dtype, device: pairs.device);
            for (int b = 0; b + lag < l; b++) sum.add_(pairs.narrow(0, (b + lag) * _n, _n).narrow(1, b * width, width), TorchScalars.One);
            return sum;
        }

        public void Dispose()
        {
            _rows.Dispose();
            _g.Dispose();
            _starts.Dispose();
            _drives.Dispose();
            _gh.Dispose();
            _gr?.Dispose();
            _w?.Dispose();
            _wPairs?.Dispose();
            _e?.Dispose();
            _ePairs?.Dispose();
        }
    }
}
