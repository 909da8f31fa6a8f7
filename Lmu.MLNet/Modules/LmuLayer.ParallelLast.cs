using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

public sealed partial class LmuLayer
{
    // Rows of the batch convolved at once: the FFT product and its inverse of one row of a [C, q, 2T] spectrum are
    // C*q*(T+1) complex numbers (1.6 MB for psMNIST); 32 MB per chunk keeps the transients small without making the
    // FFT calls so small that their per-call cost shows. Settable for tests (1 byte: one row per chunk).
    internal static long ConvolutionChunkBytes { get; set; } = 32L << 20;

    // Counts the calls of ParallelLastRnn, so tests can tell that the path they compare was taken.
    private static long _parallelLastRnnCalls;

    internal static long ParallelLastRnnCalls => Interlocked.Read(ref _parallelLastRnnCalls);

    /// <summary>
    /// Whether <see cref="ParallelLastRnn"/> applies: SimpleRnn over a feed-forward memory, last step only, raw input
    /// convolved before mixing, and no gradient through the convolution (the input and the dynamics fixed: theta, A and B).
    /// </summary>
    private bool CanRunParallelLastRnn(Tensor xd) =>
        hidden.Kind == HiddenCell.SimpleRnn && MixAfterConvolution(xd) && b_u is null
        && _options.Convolution == ParallelConvolution.Fft && !xd.requires_grad && !dynamics.IsLearned;

    /// <summary>
    /// The last hidden state of a SimpleRnn over a feed-forward memory, [B, units], in time-major order throughout:
    /// Y = conv(x, H) is built without autograd in row chunks straight into a [T*B, C*q + C] buffer whose last
    /// columns are x itself, so the input projection with the encoder folded in, the x_t term and both biases are one
    /// product (gi = [Y, x] [Wc; W_x] + b_ih + b_hh) whose result is already the scan's time-major input. The memory
    /// of the batch-major path (the [B, C, q, 2T] spectrum product and inverse at once, the reordering copies, one
    /// tensor per added term) is what made ff_rnn's training step peak at 700 MB.
    /// </summary>
    private Tensor ParallelLastRnn(Tensor x, Tensor xd, DynamicsPass dyn)
    {
        Interlocked.Increment(ref _parallelLastRnnCalls);
        long batch = x.shape[0], steps = x.shape[1];
        int memD = _options.MemoryD, q = _options.Order, channels = _options.InputSize;
        long extra = _options.InputToHidden ? channels : 0;
        var w = hidden.InputWeight!;                                                         // [G*U, z]
        long gu = w.shape[0];
        var wm = w.narrow(1, 0, memD * q).view(gu, memD, q);
        var enc = e_x ?? torch.eye(channels, memD, dtype: x.dtype, device: x.device);
        var wc3 = torch.einsum("gkq,ck->cqg", wm, enc);                                      // [C, q, G*U]
        var bias = hidden.InputBias!.Plus(hidden.RecurrentBias!);
        var s0 = ZeroHidden(batch, x);
        if (CanRunBlocked(x, xd, gu))
        {
            var blocks = BlockedHiddenInput(x, xd, wc3, extra > 0 ? w.narrow(1, memD * q, channels).t() : null, bias);
            return LinearScanLastFunction.ApplyDirectBlocks(blocks, steps, null, hidden.RecurrentWeight!.t(), s0, 0, hidden.Activation);
        }

        var wc = wc3.reshape(channels * q, gu);                                              // [C*q, G*U]
        if (extra > 0) wc = torch.cat([wc, w.narrow(1, memD * q, channels).t()], 0);        // [C*q + C, G*U]

        var y = torch.empty([steps, batch, channels * q + extra], dtype: x.dtype, device: x.device);
        using (torch.no_grad())
        {
            var spectrum = dyn.ImpulseSpectrum(steps);                                        // [q, T+1], cut at a truncation
            long rowBytes = Math.Max(1, channels * q * (steps + 1) * 2 * x.element_size()); // complex spectrum values
            long rows = Math.Clamp(ConvolutionChunkBytes / rowBytes, 1, batch);
            for (long b0 = 0; b0 < batch; b0 += rows)
            {
                using var scope = NewDisposeScope();
                long n = Math.Min(rows, batch - b0);
                var part = xd.narrow(0, b0, n);                                               // [n, T, C]
                var sf = torch.fft.rfft(part.transpose(1, 2), 2 * steps);                    // [n, C, T+1]
                var conv = torch.fft.irfft(sf.unsqueeze(2) * spectrum, 2 * steps).narrow(-1, 0, steps); // [n, C, q, T]
                var target = y.narrow(1, b0, n);                                              // [T, n, C*q + C]
                var memory = target.narrow(2, 0, channels * q).view(steps, n, channels, q);
                memory.copy_(conv.permute(3, 0, 1, 2));
                // The x_t term of the hidden cell reads the raw input: dropout applies to what the memory encodes only.
                if (extra > 0) target.narrow(2, channels * q, channels).copy_(x.narrow(0, b0, n).transpose(0, 1));
            }
        }
        var gi = torch.addmm(bias, y.view(steps * batch, -1), wc, 1, 1).view(steps, batch, gu);   // [T, B, G*U]
        return LinearScanLastFunction.ApplyDirect(gi, null, hidden.RecurrentWeight!.t(), s0, 0, hidden.Activation);
    }
}
