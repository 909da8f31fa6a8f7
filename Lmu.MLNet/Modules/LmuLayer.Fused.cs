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
    private Sequences FusedSequences(Tensor x, Tensor xd, LmuState? state, DynamicsPass dyn, bool lastStepOnly = false)
    {
        long batch = x.shape[0], steps = x.shape[1];
        int memD = _options.MemoryD, q = _options.Order, dm = memD * q, units = hidden.Units;
        var (adT, bd) = dyn.Matrices();
        var eye = torch.eye(memD, dtype: x.dtype, device: x.device);
        var bx = torch.kron(eye, bd.unsqueeze(0));                              // [MemoryD, D_m]
        var mm = memD == 1 ? adT : torch.block_diag(Enumerable.Repeat(adT, memD).ToArray());
        if (lastStepOnly && hidden.Kind != HiddenCell.None && TwoStageScan)
        {
            return new Sequences(TwoStageLast(x, xd, state, mm, bx).unsqueeze(1), null, null, null);
        }

        var ux = EncodeInput(xd);

        if (e_m is not null) mm = mm.Plus(e_m.MatMul(bx));

        // c_t = X_t V + v0 with the small per-step input X = [u_t, x_t]: c^m_t = u_t Bx and c^h_t = c^m_t W + x_t W_x + b
        // reassociate to u_t (Bx W) + x_t W_x + b, so no [B, T, D_m] x [D_m, units] product (and its two gradient
        // products) is ever formed.
        Tensor p, xin, v, s0;
        Tensor? v0 = null;
        if (hidden.Kind == HiddenCell.None)
        {
            p = mm;
            xin = ux;
            v = bx;
            s0 = state?.Memory ?? ZeroMemory(batch, x);
        }
        else
        {
            var wT = hidden.InputWeight!.t();                                   // [z, units]
            var wm = wT.narrow(0, 0, dm);
            var hm = e_h is null ? torch.zeros(units, dm, dtype: x.dtype, device: x.device) : e_h.MatMul(bx);
            var hh = hm.MatMul(wm);
            if (hidden.RecurrentWeight is not null) hh = hh.Plus(hidden.RecurrentWeight.t());
            p = torch.cat([torch.cat([mm, mm.MatMul(wm)], 1), torch.cat([hm, hh], 1)], 0);
            v = torch.cat([bx, bx.MatMul(wm)], 1);                              // [MemoryD, D]
            xin = ux;
            if (_options.InputToHidden)
            {
                var wx = wT.narrow(0, dm, _options.InputSize);                   // [InputSize, units]
                var zeros = torch.zeros(_options.InputSize, dm, dtype: x.dtype, device: x.device);
                v = torch.cat([v, torch.cat([zeros, wx], 1)], 0);               // [MemoryD + InputSize, D]
                xin = torch.cat([ux, x], 2);
            }
            var bias = hidden.RecurrentBias is null ? hidden.InputBias! : hidden.InputBias!.Plus(hidden.RecurrentBias);
            v0 = torch.cat([torch.zeros(dm, dtype: x.dtype, device: x.device), bias], 0);
            s0 = StartState(state, batch, x);
        }

        int activeFrom = dm; // the memory part is linear; only hidden entries (if any) get the activation
        var act = hidden.Kind == HiddenCell.None ? LmuActivation.Identity : hidden.Activation;
        if (lastStepOnly)
        {
            var last = LinearScanLastFunction.Apply(xin.transpose(0, 1).contiguous(), v, v0, p, s0, activeFrom, act);
            var output = hidden.Kind == HiddenCell.None
                ? HiddenInput(last, x.select(1, steps - 1))
                : last.narrow(1, dm, units);
            return new Sequences(output.unsqueeze(1), null, null, null);
        }

        var c = xin.MatMul(v);                                                  // [B, T, D]
        if (v0 is not null) c = c.Plus(v0);
        var sT = LinearScanFunction.Apply(c.transpose(0, 1).contiguous(), p, s0, activeFrom, act);
        var s = sT.transpose(0, 1);                                             // [B, T, D]
        var m = s.narrow(2, 0, dm);
        if (hidden.Kind == HiddenCell.None) return new Sequences(HiddenInput(m, x), m, null, null);
        var hseq = s.narrow(2, dm, units);
        return new Sequences(hseq, m, hseq, null);
    }

    /// <summary>Takes <see cref="TwoStageLast"/> where it applies (off: always the fused scan). Settable for tests and benches.</summary>
    internal static bool TwoStageScan { get; set; } = true;

    // Counts the calls of TwoStageLast that ran, so tests can tell that the path they compare was taken.
    private static long _twoStageCalls;

    internal static long TwoStageCalls => Interlocked.Read(ref _twoStageCalls);

    // Counts the calls of TwoStageLast that read the raw input (FoldsInputEncoder), so tests can tell which form ran.
    private static long _foldedInputCalls;

    internal static long FoldedInputCalls => Interlocked.Read(ref _foldedInputCalls);

    /// <summary>The blocked inference form's plan, kept between calls with the same weights.</summary>
    private readonly TwoStageScanLastFunction.PlanCache _blockedPlans = new();

    /// <summary>How many blocked inference plans this layer formed (tests tell a reuse from a rebuild).</summary>
    internal long BlockedPlanBuilds => _blockedPlans.Builds;

    /// <summary>
    /// The last hidden state [B, units] by <see cref="TwoStageScanLastFunction"/> (memory, then hidden, each with its
    /// own weights: a quarter less arithmetic per step than the fused P); like the fused scan, it keeps every state
    /// for the backward pass when they fit, and recomputes them from checkpoints otherwise.
    /// </summary>
    private Tensor TwoStageLast(Tensor x, Tensor xd, LmuState? state, Tensor a, Tensor bx)
    {
        int memD = _options.MemoryD, dm = memD * _options.Order, units = hidden.Units;
        var s0 = StartState(state, x.shape[0], x, readOnly: !torch.is_grad_enabled());
        var wT = hidden.InputWeight!.t();                                       // [z, units]
        var w = wT.narrow(0, 0, dm);
        Tensor? e = null;
        if (e_m is not null || e_h is not null)
        {
            e = torch.cat([e_m ?? torch.zeros(dm, memD, dtype: x.dtype, device: x.device),
                e_h ?? torch.zeros(units, memD, dtype: x.dtype, device: x.device)], 0);   // [D, MemoryD]
        }

        var bias = hidden.RecurrentBias is null ? hidden.InputBias! : hidden.InputBias!.Plus(hidden.RecurrentBias);
        var folds = FoldsInputEncoder(x, xd);
        var (xinT, v, v0) = folds ? FoldedInput(x, bx, wT, bias) : EncodedInput(x, xd, bx, wT, bias);
        if (folds) Interlocked.Increment(ref _foldedInputCalls);
        var act = hidden.Activation;
        // With fixed dynamics the drive's memory columns (Bx, or e_x Bx and b_u Bx folded) want no gradient.
        var last = TwoStageScanLastFunction.Apply(xinT, v, v0, a, e, bx, w, hidden.RecurrentWeight?.t(), s0, act, memoryDriveConstant: !bx.requires_grad, _blockedPlans);
        Interlocked.Increment(ref _twoStageCalls);
        return last.narrow(1, dm, units);
    }

    /// <summary>
    /// Whether the scan may read the raw input x instead of u = x e_x + b_u: without a backward pass (the scan then never
    /// needs u's gradient), with the same x on both sides (no input dropout) and no more channels than it replaces
    /// (x's InputSize against u's MemoryD, plus x again when it also feeds the hidden cell). Why: the encoded input
    /// and its step-major copy are [T, B, *] tensors the size of the input or larger, formed in every call; folded, the
    /// drive x_t (e_x Bx) + b_u Bx costs a [InputSize, D_m] matrix instead (and one input column fewer per step for
    /// psMNIST's rnn_cell, whose input also feeds the hidden cell).
    /// </summary>
    private bool FoldsInputEncoder(Tensor x, Tensor xd)
        => ReferenceEquals(x, xd) && !torch.is_grad_enabled()
           && (_options.InputToHidden || _options.InputSize <= _options.MemoryD);

    /// <summary>
    /// The scan's inputs for c_t = [u_t Bx, x_t W_x + b] with u_t = xd_t e_x + b_u formed for every step: X = [u, x]
    /// step-major (x only when it feeds the hidden cell), V [MemoryD (+ InputSize), D], v0 = [0, b].
    /// </summary>
    private (Tensor X, Tensor V, Tensor V0) EncodedInput(Tensor x, Tensor xd, Tensor bx, Tensor wT, Tensor bias)
    {
        int memD = _options.MemoryD, dm = memD * _options.Order, units = hidden.Units;
        var v = torch.cat([bx, torch.zeros(memD, units, dtype: x.dtype, device: x.device)], 1);
        // The scan reads its inputs step-major [T, B, C]; concatenating the step-major views writes that layout once,
        // where a batch-major concatenation and then its transposed copy would write it twice (T B C floats each).
        var uxT = EncodeInput(xd).transpose(0, 1);
        if (!_options.InputToHidden) return (uxT.contiguous(), v, HiddenOnlyV0(dm, bias, x));
        var wx = wT.narrow(0, dm, _options.InputSize);
        v = torch.cat([v, torch.cat([torch.zeros(_options.InputSize, dm, dtype: x.dtype, device: x.device), wx], 1)], 0);
        return (torch.cat([uxT, x.transpose(0, 1)], 2).contiguous(), v, HiddenOnlyV0(dm, bias, x));
    }

    /// <summary>
    /// The same c_t from x alone (see <see cref="FoldsInputEncoder"/>): X = x step-major (a view), V = [e_x Bx, W_x or 0]
    /// [InputSize, D] (e_x = I without an input encoder), v0 = [b_u Bx, b].
    /// </summary>
    private (Tensor X, Tensor V, Tensor V0) FoldedInput(Tensor x, Tensor bx, Tensor wT, Tensor bias)
    {
        int dm = _options.MemoryD * _options.Order, units = hidden.Units, inputs = _options.InputSize;
        var drive = e_x is null ? bx : e_x.MatMul(bx);                           // [InputSize, D_m]
        var toHidden = _options.InputToHidden ? wT.narrow(0, dm, inputs) : torch.zeros(inputs, units, dtype: x.dtype, device: x.device);
        var memoryBias = b_u is null ? torch.zeros(dm, dtype: x.dtype, device: x.device) : b_u.MatMul(bx);
        // x step-major as a view, not a copy: without a backward pass the scan reads X a block or a chunk at a time and
        // copies only that much.
        return (x.transpose(0, 1), torch.cat([drive, toHidden], 1), torch.cat([memoryBias, bias], 0));
    }

    private static Tensor HiddenOnlyV0(int dm, Tensor bias, Tensor x) => torch.cat([torch.zeros(dm, dtype: x.dtype, device: x.device), bias], 0);
}
