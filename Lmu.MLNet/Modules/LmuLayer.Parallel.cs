using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

public sealed partial class LmuLayer
{
    /// <summary>
    /// Memory at the last step only: m_{T-1}[k,:] = sum_s u_{T-1-s,k} H[s,:], one matrix product (B*MemoryD rows)
    /// instead of T recurrent steps, then the (non-recurrent) hidden cell on that one step. [B, OutputSize].
    /// </summary>
    private Tensor ParallelLastStep(Tensor x, Tensor ux)
    {
        long batch = x.shape[0], steps = x.shape[1];
        long k = _options.ImpulseTruncation > 0 ? Math.Min(_options.ImpulseTruncation, steps) : steps;
        var h = dynamics.ImpulseResponse(steps, x.dtype, x.device);
        // Reverse time so that row s of the product pairs u_{T-1-s} with H[s].
        var uRev = ux.narrow(1, steps - k, k).flip(1).transpose(1, 2);   // [B, MemoryD, k]
        var mLast = uRev.matmul(h.narrow(0, 0, k)).reshape(batch, -1);   // [B, MemoryD*q]
        var z = HiddenInput(mLast, x.select(1, steps - 1));
        return hidden.Kind == HiddenCell.None ? z : HiddenCellModule.Activate(hidden.ProjectInput(z), hidden.Activation);
    }

    /// <summary>All steps of a feed-forward memory by convolution, then the hidden cell over the sequence.</summary>
    private Sequences ParallelSequences(Tensor x, Tensor ux)
    {
        long batch = x.shape[0];
        var m = _options.Convolution == ParallelConvolution.Fft ? FftMemory(ux) : DirectMemory(ux);
        var z = HiddenInput(m, x);
        switch (hidden.Kind)
        {
            case HiddenCell.None:
                return new Sequences(z, m, null, null);
            case HiddenCell.Dense:
            {
                var hs = HiddenCellModule.Activate(hidden.ProjectInput(z), hidden.Activation);
                return new Sequences(hs, m, hs, null);
            }
            case HiddenCell.SimpleRnn:
            {
                // Only the hidden recurrence remains: h_t = act(c_t + h_{t-1} W_hh^T), c = z W_ih^T + b_ih + b_hh.
                var c = hidden.ProjectInput(z) + hidden.RecurrentBias!;
                var s0 = ZeroHidden(batch, x);
                var hsT = LinearScanFunction.Apply(c.transpose(0, 1).contiguous(), hidden.RecurrentWeight!.t(), s0, 0, hidden.Activation);
                var hs = hsT.transpose(0, 1);
                return new Sequences(hs, m, hs, null);
            }
            default:
            {
                var gi = hidden.ProjectInput(z);
                Tensor h = ZeroHidden(batch, x);
                Tensor? cell = hidden.Kind == HiddenCell.Lstm ? ZeroHidden(batch, x) : null;
                var hs = new List<Tensor>();
                var cs = new List<Tensor>();
                for (long t = 0; t < x.shape[1]; t++)
                {
                    (h, cell) = hidden.Step(gi.select(1, t), h, cell);
                    hs.Add(h);
                    if (cell is not null) cs.Add(cell);
                }
                var hseq = torch.stack(hs, 1);
                return new Sequences(hseq, m, hseq, cs.Count > 0 ? torch.stack(cs, 1) : null);
            }
        }
    }

    /// <summary>m for every step by FFT convolution with the impulse response: [B, T, MemoryD] -> [B, T, MemoryD*q].</summary>
    private Tensor FftMemory(Tensor ux)
    {
        long batch = ux.shape[0], steps = ux.shape[1];
        var spectrum = dynamics.ImpulseSpectrum(steps, ux.dtype, ux.device);            // [q, T+1]
        var uf = torch.fft.rfft(ux.transpose(1, 2), 2 * steps);                          // [B, MemoryD, T+1]
        var m = torch.fft.irfft(uf.unsqueeze(2) * spectrum, 2 * steps).narrow(-1, 0, steps); // [B, MemoryD, q, T]
        return m.permute(0, 3, 1, 2).reshape(batch, steps, -1);
    }

    /// <summary>m for every step by direct causal convolution, with the optional impulse truncation.</summary>
    private Tensor DirectMemory(Tensor ux)
    {
        long batch = ux.shape[0], steps = ux.shape[1];
        int memD = _options.MemoryD, q = _options.Order;
        long k = _options.ImpulseTruncation > 0 ? Math.Min(_options.ImpulseTruncation, steps) : steps;
        var h = dynamics.ImpulseResponse(steps, ux.dtype, ux.device).narrow(0, 0, k); // [k, q]
        // conv1d correlates, so the kernel is H reversed in time: weight[i, 0, j] = H[k-1-j, i].
        var weight = h.flip(0).t().unsqueeze(1);                                       // [q, 1, k]
        var signal = ux.transpose(1, 2).reshape(batch * memD, 1, steps);
        var padded = nn.functional.pad(signal, [k - 1, 0]);
        var m = nn.functional.conv1d(padded, weight);                                  // [B*MemoryD, q, T]
        return m.view(batch, memD, q, steps).permute(0, 3, 1, 2).reshape(batch, steps, -1);
    }
}
