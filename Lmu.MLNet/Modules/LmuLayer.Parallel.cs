using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

public sealed partial class LmuLayer
{
    // The parallel form never materialises more than it must. Two identities do the work:
    //  (1) the memory is linear in u = x e_x + b_u, so conv(u, H) = sum_c e_x[c,:] conv(x_c, H) + b_u cumsum(H):
    //      convolving the raw input (no gradient) and mixing afterwards keeps the FFTs out of the backward pass; a
    //      hidden cell then reads Y = conv(x, H) through one product with the encoder folded into its weights;
    //  (2) otherwise (more input channels than memory channels), a hidden cell only sees W m_t, and
    //      W conv(u, H) = conv(u, H W): convolving with the projected kernel (G*units channels instead of
    //      MemoryD*q) skips the memory tensor and the [B*T, q] x [q, G*units] product.

    // Counts the calls of FoldedDenseLast, so tests can tell that the path they compare was taken.
    private static long _foldedDenseLastCalls;

    internal static long FoldedDenseLastCalls => Interlocked.Read(ref _foldedDenseLastCalls);

    /// <summary>
    /// Last step only: m_{T-1}[k,:] = sum_s u_{T-1-s,k} H[s,:] as one product of the time-reversed input with H
    /// (no recurrence), then the non-recurrent hidden cell on that step. [B, OutputSize].
    /// </summary>
    private Tensor ParallelLastStep(Tensor x, Tensor xd, DynamicsPass dyn)
    {
        long batch = x.shape[0], steps = x.shape[1];
        long k = _options.ImpulseTruncation > 0 ? Math.Min(_options.ImpulseTruncation, steps) : steps;
        if (CanFoldForInference(k)) return FoldedDenseInference(x, k, dyn);
        var h = dyn.ImpulseResponse(steps).narrow(0, 0, k);   // [k, q]
        Tensor mLast;
        if (MixAfterConvolution(x))
        {
            var y = ReversedProduct(xd.narrow(1, steps - k, k), h);                  // [B, C, q]
            if (hidden.Kind == HiddenCell.Dense) return FoldedDenseLast(x, y, h);
            mLast = MixChannels(y, 1);                                                // [B, MemoryD, q]
            if (b_u is not null) mLast = mLast.Plus(b_u.unsqueeze(1) * h.sum(dim: 0));    // b_u[k] * sum_s H[s] (named: a literal 0 would bind to sum(ScalarType))
        }
        else
        {
            var u = EncodeInput(xd);
            mLast = ReversedProduct(u.narrow(1, steps - k, k), h);
        }
        var z = HiddenInput(mLast.reshape(batch, -1), x.select(1, steps - 1));
        return hidden.Kind == HiddenCell.None ? z : HiddenCellModule.Activate(hidden.ProjectInput(z), hidden.Activation);
    }

    /// <summary>
    /// The Dense cell on the last step with u's encoder folded into its kernel: W_m mix(y) = W_c y, W_c[g, c, k] =
    /// sum_d W_m[g, d, k] e_x[c, d] ([G*U, C*q], no wider than W_m since C &lt;= MemoryD), plus W_m's product with the
    /// bias response b_u (x) sum_s H[s]. Autograd then forms dL/dW_c = dpre^T y and never dL/dm = dpre W_m, the [B,
    /// MemoryD*q] product the unmixed memory needs only for e_x's gradient (0.12 of the bench ff_dense step's 1.19 ms
    /// forward and backward, measured). y [B, C, q] -> [B, units].
    /// </summary>
    private Tensor FoldedDenseLast(Tensor x, Tensor y, Tensor h)
    {
        Interlocked.Increment(ref _foldedDenseLastCalls);
        long batch = y.shape[0];
        int memD = _options.MemoryD, q = _options.Order, channels = _options.InputSize;
        var w = hidden.InputWeight!;                                                          // [U, MemoryD*q (+ C)]
        long units = w.shape[0];
        var wm = w.narrow(1, 0, memD * q);                                                    // [U, MemoryD*q]
        var yFlat = y.reshape(batch, channels * q);
        if (channels == 1 && memD == 1 && b_u is null && !y.requires_grad && !x.requires_grad)
        {
            // One autograd node instead of about fifteen (DenseLastFunction): same values, fewer dispatches.
            var xLast = _options.InputToHidden ? x.select(1, x.shape[1] - 1) : null;
            return DenseLastFunction.Apply(yFlat, xLast, w, hidden.InputBias, e_x, hidden.Activation);
        }
        Tensor pre;                                                                           // [B, U]
        if (e_x is not null && channels == 1 && memD == 1)
        {
            // A [1, 1] encoder is one scale: applied to the [B, U] product rather than to the kernel, so neither pass
            // forms a kernel-sized temporary (0.2 MB each at 212 units and order 256). Bench ff_dense, four runs each:
            // a training step's peak 1276-1532 KB (the peer's 1224-1588) against 1420-1732 KB (1204-1384) with the
            // scaled kernel, at 2-3 % more time (ratio 0.656-0.660 against 0.637-0.643).
            pre = (yFlat.mm(wm.t()) * e_x).Plus(hidden.InputBias!);
        }
        else
        {
            var wc = e_x is null ? wm : torch.einsum("gdk,cd->gck", wm.view(units, memD, q), e_x).reshape(units, channels * q);
            pre = nn.functional.linear(yFlat, wc, hidden.InputBias);
        }
        if (b_u is not null) pre = pre.Plus(wm.view(units, memD, q).MatMul(h.sum(dim: 0)).MatMul(b_u));
        if (_options.InputToHidden) pre = torch.addmm(pre, x.select(1, x.shape[1] - 1), w.narrow(1, memD * q, channels).t(), 1, 1);
        return HiddenCellModule.Activate(pre, hidden.Activation);
    }

    /// <summary>
    /// sum_s seq[:, k-1-s, :] H[s, :] for every row and channel: [B, k, D] x [k, q] -> [B, D, q], as ONE [B*D, k] x
    /// [k, q] product. A batched matmul of [B, D, k] by [k, q] runs B separate [D, k] products, which for D = 1 are
    /// matrix-vector products that each read all of H (3.4x slower for the bench's ff_dense inference, measured).
    /// </summary>
    private static Tensor ReversedProduct(Tensor seq, Tensor h)
    {
        long batch = seq.shape[0], k = seq.shape[1], d = seq.shape[2];
        var rows = seq.flip(1).transpose(1, 2).reshape(batch * d, k);   // flip copies the (small) input once
        return rows.mm(h).view(batch, d, h.shape[1]);
    }

    /// <summary>All steps of a feed-forward memory by convolution, then the hidden cell over the sequence.</summary>
    private Sequences ParallelSequences(Tensor x, Tensor xd, bool wantMemory, DynamicsPass dyn, bool lastStepOnly = false)
    {
        long batch = x.shape[0];
        if (hidden.Kind == HiddenCell.None)
        {
            var m = MemorySequence(x, xd, dyn);
            return new Sequences(HiddenInput(m, x), m, null, null);
        }

        if (lastStepOnly && !wantMemory && CanRunParallelLastRnn(xd))
            return new Sequences(ParallelLastRnn(x, xd, dyn).unsqueeze(1), null, null, null);

        // Memory kept when asked for (streaming state) or when projecting first would widen the convolution.
        int gu = (int)hidden.InputWeight!.shape[0];
        Tensor? memory = null;
        Tensor gi;
        if (MixAfterConvolution(x))
        {
            gi = ProjectConvolvedInput(x, xd, dyn);
        }
        else if (gu <= _options.MemoryD * _options.Order && _options.Convolution == ParallelConvolution.Fft)
        {
            gi = ProjectedConvolution(x, xd, dyn);
        }
        else
        {
            memory = MemorySequence(x, xd, dyn);
            gi = hidden.ProjectInput(HiddenInput(memory, x));
        }

        switch (hidden.Kind)
        {
            case HiddenCell.Dense:
            {
                var hs = HiddenCellModule.Activate(gi, hidden.Activation);
                return new Sequences(hs, memory ?? MemoryIfWanted(x, xd, wantMemory, dyn), hs, null);
            }
            case HiddenCell.SimpleRnn:
            {
                // Only the hidden recurrence remains: h_t = act(gi_t + b_hh + h_{t-1} W_hh^T).
                var s0 = ZeroHidden(batch, x);
                if (lastStepOnly && !wantMemory)
                {
                    var last = LinearScanLastFunction.ApplyDirect(gi.transpose(0, 1).contiguous(), hidden.RecurrentBias!,
                        hidden.RecurrentWeight!.t(), s0, 0, hidden.Activation);
                    return new Sequences(last.unsqueeze(1), null, null, null);
                }
                var c = gi.Plus(hidden.RecurrentBias!);
                var hsT = LinearScanFunction.Apply(c.transpose(0, 1).contiguous(), hidden.RecurrentWeight!.t(), s0, 0, hidden.Activation);
                var hs = hsT.transpose(0, 1);
                return new Sequences(hs, memory ?? MemoryIfWanted(x, xd, wantMemory, dyn), hs, null);
            }
            default:
            {
                Tensor h = ZeroHidden(batch, x);
                Tensor? cell = hidden.Kind == HiddenCell.Lstm ? ZeroHidden(batch, x) : null;
                var hs = new List<Tensor>();
                var cs = new List<Tensor>();
                // One unbind, not a select per step: each select's backward writes a zero-filled gradient of all of gi
                // ([B, T, 4 units] for an LSTM), so T selects cost O(T^2) in the backward pass (QA: 48 s for a batch
                // at T = 1,000, 241 s at T = 2,000); unbind's backward stacks the step gradients once.
                var steps = gi.unbind(1);
                for (var t = 0; t < steps.Length; t++)
                {
                    (h, cell) = hidden.Step(steps[t], h, cell);
                    hs.Add(h);
                    if (cell is not null) cs.Add(cell);
                }
                var hseq = torch.stack(hs, 1);
                return new Sequences(hseq, memory ?? MemoryIfWanted(x, xd, wantMemory, dyn), hseq, cs.Count > 0 ? torch.stack(cs, 1) : null);
            }
        }
    }

    /// <summary>The memory sequence costs a full convolution; it is computed only for a returned state.</summary>
    private Tensor? MemoryIfWanted(Tensor x, Tensor xd, bool wanted, DynamicsPass dyn) => wanted ? MemorySequence(x, xd, dyn) : null;

    /// <summary>m for every step: [B, T, MemoryD*q].</summary>
    private Tensor MemorySequence(Tensor x, Tensor xd, DynamicsPass dyn)
    {
        long batch = x.shape[0], steps = x.shape[1];
        Tensor m;                                                              // [B, MemoryD, q, T]
        if (MixAfterConvolution(x))
        {
            var y = Convolve(xd, dyn);                                               // [B, C, q, T]: no gradient flows here unless the dynamics learn
            var h = dyn.ImpulseResponse(steps);
            m = MixChannels(y.permute(0, 3, 1, 2), 2).permute(0, 2, 3, 1);     // [B, MemoryD, q, T]
            if (b_u is not null) m = m.Plus(b_u.view(-1, 1, 1) * h.cumsum(0).t());    // b_u[k] * sum_{s<=t} H[s]
        }
        else
        {
            m = Convolve(EncodeInput(xd), dyn);
        }
        return m.permute(0, 3, 1, 2).reshape(batch, steps, -1);
    }

    /// <summary>Causal convolution of every channel of s [B, T, C] with H: [B, C, q, T].</summary>
    private Tensor Convolve(Tensor s, DynamicsPass dyn)
    {
        long batch = s.shape[0], steps = s.shape[1], channels = s.shape[2];
        if (_options.Convolution == ParallelConvolution.Fft)
        {
            var spectrum = dyn.ImpulseSpectrum(steps);              // [q, T+1]
            var sf = torch.fft.rfft(s.transpose(1, 2), 2 * steps);                          // [B, C, T+1]
            return torch.fft.irfft(sf.unsqueeze(2) * spectrum, 2 * steps).narrow(-1, 0, steps);
        }
        int q = _options.Order;
        long k = _options.ImpulseTruncation > 0 ? Math.Min(_options.ImpulseTruncation, steps) : steps;
        var h = dyn.ImpulseResponse(steps).narrow(0, 0, k);          // [k, q]
        // conv1d correlates, so the kernel is H reversed in time: weight[i, 0, j] = H[k-1-j, i].
        var weight = h.flip(0).t().unsqueeze(1);                                            // [q, 1, k]
        var signal = s.transpose(1, 2).reshape(batch * channels, 1, steps);
        var conv = nn.functional.conv1d(nn.functional.pad(signal, [k - 1, 0]), weight);     // [B*C, q, T]
        return conv.view(batch, channels, q, steps);
    }

    /// <summary>
    /// gi = W_ih z for every step from Y = conv(x, H): gi = Y Wc + bias response + x part
    /// + b_ih, with Wc = the memory rows of W_ih with the encoder folded in. The backward pass is one matrix product
    /// (dWc = Y^T g) and no FFT. [B, T, G*U].
    /// </summary>
    private Tensor ProjectConvolvedInput(Tensor x, Tensor xd, DynamicsPass dyn)
    {
        long batch = x.shape[0], steps = x.shape[1];
        int memD = _options.MemoryD, q = _options.Order, channels = _options.InputSize;
        var w = hidden.InputWeight!;                                                         // [G*U, z]
        long gu = w.shape[0];
        var wm = w.narrow(1, 0, memD * q).view(gu, memD, q);                                 // [G*U, MemoryD, q]
        var enc = e_x ?? torch.eye(channels, memD, dtype: x.dtype, device: x.device);        // [C, MemoryD]
        var wc3 = torch.einsum("gkq,ck->cqg", wm, enc);                                      // [C, q, G*U]
        Tensor gi;
        if (CanRunBlocked(x, xd, gu))
        {
            // The memory is never formed: blocks of steps by matrix products (LmuLayer.Blocked.cs), biases included.
            var blocks = BlockedHiddenInput(x, xd, wc3, _options.InputToHidden ? w.narrow(1, memD * q, channels).t() : null, hidden.InputBias!);
            gi = blocks.transpose(0, 1).reshape(batch, -1, gu).narrow(1, 0, steps);                  // [B, T, G*U]
            return WithBiasResponse(gi, wm, steps, dyn);
        }

        // Y carries no autograd history unless x requires grad or the dynamics learn (then the FFTs are differentiated).
        var y = Convolve(xd, dyn).permute(0, 3, 1, 2).reshape(batch * steps, channels * q);       // [B*T, C*q]
        gi = WithBiasResponse(y.MatMul(wc3.reshape(channels * q, gu)).view(batch, steps, gu), wm, steps, dyn);
        if (_options.InputToHidden) gi = gi.Plus(x.MatMul(w.narrow(1, memD * q, channels).t()));
        return gi.Plus(hidden.InputBias!);
    }

    /// <summary>gi plus the memory bias's response through the memory rows wm [G*U, MemoryD, q]: step t sees b_u sum_{s&lt;=t} H[s].</summary>
    private Tensor WithBiasResponse(Tensor gi, Tensor wm, long steps, DynamicsPass dyn)
        => b_u is null ? gi : gi.Plus(dyn.ImpulseResponse(steps).cumsum(0).MatMul(torch.einsum("gkq,k->qg", wm, b_u)));

    /// <summary>
    /// gi = W_ih z for every step without the memory tensor: conv(x_c, H Wc) summed over input channels c, where
    /// Wc folds the encoder into the memory rows of W_ih; plus the bias response, the x_t part and b_ih. [B, T, G*U].
    /// </summary>
    private Tensor ProjectedConvolution(Tensor x, Tensor xd, DynamicsPass dyn)
    {
        long steps = x.shape[1];
        int memD = _options.MemoryD, q = _options.Order, channels = _options.InputSize;
        var w = hidden.InputWeight!;                                                         // [G*U, z]
        long gu = w.shape[0];
        var wm = w.narrow(1, 0, memD * q).view(gu, memD, q);                                 // [G*U, MemoryD, q]
        var h = dyn.ImpulseResponse(steps);                          // [T, q]
        var enc = e_x ?? torch.eye(channels, memD, dtype: x.dtype, device: x.device);        // [C, MemoryD]
        var wc = torch.einsum("gkq,ck->cqg", wm, enc);                                        // [C, q, G*U]
        // One folded product over the weights' rows, [C*G*U, q] x [q, T]; h x wc would broadcast h to every channel.
        var kernel = wc.transpose(1, 2).MatMul(h.t());                                       // [C, G*U, T]
        var kf = torch.fft.rfft(kernel, 2 * steps);                                          // [C, G*U, T+1]
        var xf = torch.fft.rfft(xd.transpose(1, 2), 2 * steps);                              // [B, C, T+1]
        // No squeeze: with one hidden unit (G*U = 1) it took the unit axis too (found by QA: "Dimension out of range").
        var prod = channels == 1 ? xf * kf : torch.einsum("bcf,cgf->bgf", xf, kf);           // [B, G*U, T+1]
        var gi = torch.fft.irfft(prod, 2 * steps).narrow(-1, 0, steps);                      // [B, G*U, T]
        gi = WithBiasResponse(gi.transpose(1, 2), wm, steps, dyn);                           // [B, T, G*U]
        if (_options.InputToHidden) gi = gi.Plus(x.MatMul(w.narrow(1, memD * q, channels).t()));
        return gi.Plus(hidden.InputBias!);
    }

    /// <summary>The rows of u's encoder applied after the convolution: y [..., C, q] (channel axis given) -> [..., MemoryD, q].</summary>
    private Tensor MixChannels(Tensor y, int channelAxis)
    {
        if (e_x is null) return y; // u = x: channels are memory channels already
        var moved = y.movedim([channelAxis], [-1]);                                          // [..., q, C]
        return moved.MatMul(e_x).movedim([-1], [channelAxis]);                                   // [..., MemoryD, q] at channelAxis
    }

    /// <summary>Convolve the raw input and mix afterwards when that is no wider (C &lt;= MemoryD): no FFT gradient.</summary>
    private bool MixAfterConvolution(Tensor x) => _options.InputSize <= _options.MemoryD;
}
