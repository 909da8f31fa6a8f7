using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

public sealed partial class LmuLayer
{
    /// <summary>
    /// Recurrent memory (and None/Dense/SimpleRnn hidden) as one linear scan over s_t = [m_t, h_t].
    /// </summary>
    /// <remarks>
    /// Substituting u_t into the memory update and m_t into the hidden pre-activation makes both affine in
    /// (s_{t-1}, x_t): with Bx = kron(I, Bd^T) [MemoryD, D_m] and Mm = kron(I, Ad^T) + e_m Bx,
    /// <code>
    /// m_t   = m_{t-1} Mm + h_{t-1} e_h Bx + c^m_t,                      c^m_t = (x_t e_x + b_u) Bx
    /// pre_t = m_{t-1} Mm W + h_{t-1} (e_h Bx W + W_hh^T) + c^h_t,     c^h_t = c^m_t W + x_t W_x + b
    /// </code>
    /// (W = the memory rows of W_ih^T). So s_t = f(s_{t-1} P + c_t) with one [D, D] matrix P built once per forward
    /// pass from the parameters (autograd differentiates that construction) and c computed for all steps at once.
    /// </remarks>
    private Sequences FusedSequences(Tensor x, Tensor ux, LmuState? state, DynamicsPass dyn)
    {
        long batch = x.shape[0], steps = x.shape[1];
        int memD = _options.MemoryD, q = _options.Order, dm = memD * q, units = hidden.Units;
        var (adT, bd) = dyn.Matrices();
        var eye = torch.eye(memD, dtype: x.dtype, device: x.device);
        var bx = torch.kron(eye, bd.unsqueeze(0));                              // [MemoryD, D_m]
        var mm = memD == 1 ? adT : torch.block_diag(Enumerable.Repeat(adT, memD).ToArray());
        if (e_m is not null) mm = mm.Plus(e_m.matmul(bx));
        var cm = ux.matmul(bx);                                                 // [B, T, D_m]

        Tensor p, c, s0;
        if (hidden.Kind == HiddenCell.None)
        {
            p = mm;
            c = cm;
            s0 = state?.Memory ?? ZeroMemory(batch, x);
        }
        else
        {
            var wT = hidden.InputWeight!.t();                                   // [z, units]
            var wm = wT.narrow(0, 0, dm);
            var hm = e_h is null ? torch.zeros(units, dm, dtype: x.dtype, device: x.device) : e_h.matmul(bx);
            var hh = hm.matmul(wm);
            if (hidden.RecurrentWeight is not null) hh = hh.Plus(hidden.RecurrentWeight.t());
            p = torch.cat([torch.cat([mm, mm.matmul(wm)], 1), torch.cat([hm, hh], 1)], 0);
            var ch = cm.matmul(wm).Plus(hidden.InputBias!);
            if (hidden.RecurrentBias is not null) ch = ch.Plus(hidden.RecurrentBias);
            if (_options.InputToHidden) ch = ch.Plus(x.matmul(wT.narrow(0, dm, _options.InputSize)));
            c = torch.cat([cm, ch], 2);
            s0 = torch.cat([state?.Memory ?? ZeroMemory(batch, x), state?.Hidden ?? ZeroHidden(batch, x)], 1);
        }

        int activeFrom = dm; // the memory part is linear; only hidden entries (if any) get the activation
        var act = hidden.Kind == HiddenCell.None ? LmuActivation.Identity : hidden.Activation;
        var sT = LinearScanFunction.Apply(c.transpose(0, 1).contiguous(), p, s0, activeFrom, act);
        var s = sT.transpose(0, 1);                                             // [B, T, D]
        var m = s.narrow(2, 0, dm);
        if (hidden.Kind == HiddenCell.None) return new Sequences(HiddenInput(m, x), m, null, null);
        var hseq = s.narrow(2, dm, units);
        return new Sequences(hseq, m, hseq, null);
    }
}
