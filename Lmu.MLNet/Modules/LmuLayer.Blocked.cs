using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

public sealed partial class LmuLayer
{
    /// <summary>
    /// Steps per block of <see cref="BlockedHiddenInput"/>. Each output step costs C*L*units for the block's own inputs
    /// and C*q*units for the carried memory, so a short block keeps the first term small next to the second, while the
    /// per-block products must stay large enough to run at full speed. Measured on psMNIST's ff_rnn (1 thread, 2-core
    /// AMD EPYC, 5 samples, run twice): training steps of 0.77-0.79 s at 8 steps, 0.78 at 12, 0.75-0.78 at 16,
    /// 0.78-0.80 at 28, 0.79-0.80 at 32, 0.88-0.89 at 49; inference 0.33-0.34 s at 16 against 0.35 at 32. Settable for
    /// tests and the bench (--block-steps).
    /// </summary>
    internal static int BlockSteps { get; set; } = 16;

    /// <summary>Takes <see cref="BlockedHiddenInput"/> where it applies (off: the FFT convolution). Settable for tests and benches.</summary>
    internal static bool BlockedProjection { get; set; } = true;

    // The cached powers [L, q, q] and the per-pass operator [C*q, L*units] each cost this much at most; past it the FFT
    // path runs instead (powers at q = 256: 4 MB; q = 1,024: 64 MB at 16 steps).
    private const long MaxOperatorBytes = 64L << 20;

    // Blocked when L*q*units <= this many times B*T (see CanRunBlocked).
    private const long FixedCostFactor = 64;

    // Counts the calls of BlockedHiddenInput, so tests can tell that the path they compare was taken.
    private static long _blockedCalls;

    internal static long BlockedCalls => Interlocked.Read(ref _blockedCalls);

    /// <summary>
    /// Whether <see cref="BlockedHiddenInput"/> may replace the FFT convolution: on, the FFT form chosen, the dynamics
    /// fixed (the powers are cached constants), no gradient to flow to the dropped-out input (the block-end memories are
    /// stepped without autograd), the operators within <see cref="MaxOperatorBytes"/>, and enough rows and steps to
    /// repay the operator.
    /// </summary>
    /// <remarks>
    /// The cost model: every pass builds the operator [C*q, L*units] from the powers, L*q^2*C*units multiply-adds
    /// forward and as many backward, whatever B*T is; what it saves is the FFT convolution of B*C*q signals of length T.
    /// On psMNIST's ff_rnn that convolution (with its reordering) cost 0.25-0.3 s, as much as about 500 multiply-adds
    /// per row, step and memory coefficient run at the matmul ceiling. So blocked when 2*L*q*units &lt;= 500*B*T, taken
    /// with a margin of 4: L*q*units &lt;= 64*B*T (psMNIST: 0.87 M against 5.0 M; an LSTM of 256 units over q = 256 at
    /// B*T = 8,192: 4.2 M against 0.5 M, so the FFT).
    /// </remarks>
    private bool CanRunBlocked(Tensor x, Tensor xd, long units)
    {
        // The blocks carry the memory from block to block by powers of Ad: a truncated (windowed) memory has no such state.
        if (!BlockedProjection || _options.Convolution != ParallelConvolution.Fft || dynamics.IsLearned) return false;
        if (_options.ImpulseTruncation > 0 && _options.ImpulseTruncation < x.shape[1]) return false;
        if (xd.requires_grad && torch.is_grad_enabled()) return false;
        long batch = x.shape[0], steps = x.shape[1], block = Math.Min(BlockSteps, steps), q = _options.Order;
        long element = x.element_size();
        return block * q * q * element <= MaxOperatorBytes
               && _options.InputSize * q * block * units * element <= MaxOperatorBytes
               && block * q * units <= FixedCostFactor * batch * steps;
    }

    /// <summary>
    /// The hidden cell's input for every step in blocks, [n, B, L, units] with step t at [t / L, :, t % L] (the steps
    /// past T, up to n*L, are padding): gi_t = m_t Wc + x_t W_x + b, where m_t =
    /// sum_s x_{t-s} H[s] is the feed-forward memory of the raw channels and Wc [C, q, units] the memory rows of the
    /// input weight with the encoder folded in. Blocks of L steps replace the FFT: within the block starting at t0,
    /// <code>
    /// gi_{t0+j} = sum_{i&lt;=j} x_{t0+i} (H[j-i] Wc)  +  m_{t0-1} ((Ad^T)^(j+1) Wc)  +  x_{t0+j} W_x + b
    /// </code>
    /// so every block is one product of its inputs (and the bias) by a block-Toeplitz operator plus one product of its
    /// starting memory by the stacked powers, both for all blocks at once; only the block-end memories are stepped in
    /// sequence (T/L small products, without autograd: the input and the dynamics are fixed on this path).
    /// </summary>
    /// <remarks>
    /// Why: the FFT convolution produced the whole [T*B, C*q] memory (a quarter of a second of FFTs and reordering on
    /// psMNIST's ff_rnn, most of its inference) only to multiply it by Wc. Here the memory sequence is never formed:
    /// the arithmetic is that product's (C*q*units per row and step) plus C*L*units, in large products, and autograd
    /// keeps the block-start memories (B*T/L rows) instead of the [T*B, C*q] memory for the weight gradient.
    /// </remarks>
    private Tensor BlockedHiddenInput(Tensor x, Tensor xd, Tensor wc, Tensor? wxT, Tensor bias)
    {
        Interlocked.Increment(ref _blockedCalls);
        long batch = x.shape[0], steps = x.shape[1], gu = wc.shape[2];
        int q = _options.Order, c = _options.InputSize, block = (int)Math.Min(BlockSteps, steps);
        long blocks = (steps + block - 1) / block, padded = blocks * block;
        var h = dynamics.ImpulseResponse(block, x.dtype, x.device);                         // [L, q], H[s]
        var powers = dynamics.BlockPowers(block, x.dtype, x.device);                        // [L, q, q], (Ad^T)^(j+1)

        // Inputs per block, zero-padded at the end (causal: padding after T changes nothing before it).
        var xdBlocks = Blocks(xd, padded, block);                                            // [n, B, L, C]
        Tensor starts;
        using (torch.no_grad())
        {
            // Memory after each block's last step: m_{kL+L-1} = m_{kL-1} (Ad^T)^L + sum_i x_{kL+i} H[L-1-i].
            var drive = torch.einsum("nblc,lq->nbcq", xdBlocks, h.flip(0));                 // [n, B, C, q]
            var carry = powers[block - 1];
            starts = torch.zeros([blocks, batch * c, q], dtype: x.dtype, device: x.device);   // m_{kL-1}; zero before the first block
            for (long k = 1; k < blocks; k++)
            {
                using var previous = starts[k - 1];
                using var driven = drive[k - 1].reshape(batch * c, q);
                using var target = starts[k];
                using var next = torch.addmm(driven, previous, carry, 1, 1);
                LinearScanFunction.Release(target.copy_(next), target);
            }
        }

        // Operators (with autograd through Wc, W_x and b): rows of the block inputs [x (dropped out) | x (raw) | 1].
        var lag = TorchScalars.Arange(block, x.device);
        var offsets = lag.unsqueeze(0).add(lag.unsqueeze(1).neg(), TorchScalars.OneInteger); // [i, j] = j - i
        var causal = offsets.ge(TorchScalars.ZeroInteger).to(x.dtype).view(block, block, 1, 1);
        var hw = torch.einsum("sp,cpg->scg", h, wc);                                        // [L, C, units]: H[s] Wc[c]
        var toeplitz = hw.index_select(0, offsets.clamp_min(TorchScalars.ZeroInteger).flatten()).view(block, block, c, gu).mul(causal); // [i, j, c, g]
        var rowsOp = new List<Tensor> { toeplitz.permute(0, 2, 1, 3).reshape(block * c, block * gu) };
        var rowsIn = new List<Tensor> { xdBlocks.reshape(blocks * batch, block * c) };
        if (wxT is not null)
        {
            rowsOp.Add(torch.kron(torch.eye(block, dtype: x.dtype, device: x.device), wxT.contiguous())); // x_{t0+j} W_x on the diagonal
            rowsIn.Add(Blocks(x, padded, block).reshape(blocks * batch, block * c));
        }
        rowsOp.Add(bias.repeat(block).unsqueeze(0));
        rowsIn.Add(torch.ones([blocks * batch, 1], dtype: x.dtype, device: x.device));
        var carried = torch.einsum("jpr,crg->cpjg", powers, wc).reshape(c * q, block * gu); // [(c, p), (j, g)]

        // One [n*B, L*units] result, the block inputs' product added in place: a second tensor of that size would be a
        // fresh allocation (page faults and zeroing) on every pass. Autograd allows it: mm's backward reads its inputs only.
        var gi = starts.view(blocks * batch, c * q).mm(carried);                               // [n*B, L*units]
        LinearScanFunction.Release(gi.addmm_(torch.cat(rowsIn, 1), torch.cat(rowsOp, 0), 1, 1), gi);
        return gi.view(blocks, batch, block, gu);
    }

    /// <summary>[B, T, C] -> [n, B, L, C], zero-padded to n*L steps.</summary>
    private static Tensor Blocks(Tensor s, long padded, int block)
    {
        long batch = s.shape[0], steps = s.shape[1], c = s.shape[2];
        var p = padded == steps ? s : nn.functional.pad(s, [0, 0, 0, padded - steps]);
        return p.reshape(batch, padded / block, block, c).transpose(0, 1);
    }
}
