using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

public sealed partial class LmuLayer
{
    /// <summary>
    /// The reference formulation: one step at a time, exactly the equations. Supports everything (LSTM/GRU with
    /// recurrent memories, recurrent dropout, streaming from a state) at the price of speed.
    /// </summary>
    private Sequences CellSequences(Tensor x, Tensor ux, LmuState? state, DynamicsPass dyn)
    {
        long batch = x.shape[0], steps = x.shape[1];
        int memD = _options.MemoryD, q = _options.Order;
        var (adT, bd) = dyn.Matrices();
        var m = state?.Memory ?? ZeroMemory(batch, x);
        Tensor? h = hidden.Kind == HiddenCell.None ? null : state?.Hidden ?? ZeroHidden(batch, x);
        Tensor? c = hidden.Kind == HiddenCell.Lstm ? state?.Cell ?? ZeroHidden(batch, x) : null;

        // One recurrent-dropout mask per sequence (the same at every step), scaled to keep expectations.
        Tensor? recMask = null;
        if (training && _options.RecurrentDropout > 0 && e_h is not null)
        {
            recMask = DropoutMask.Create([batch, hidden.Units], _options.RecurrentDropout, x.dtype, x.device);
        }

        var outputs = new List<Tensor>((int)steps);
        var memories = new List<Tensor>((int)steps);
        var hiddens = new List<Tensor>((int)steps);
        var cells = new List<Tensor>((int)steps);
        // Each step's slices from one unbind, not a select per step: a select's backward writes a zero-filled gradient of
        // the whole sequence, so T of them cost O(T^2) in the backward pass (see ParallelSequences).
        var uxSteps = ux.unbind(1);
        var xSteps = x.unbind(1);
        for (var t = 0; t < steps; t++)
        {
            var u = uxSteps[t];
            if (e_h is not null) u = u.Plus((recMask is null ? h! : h! * recMask).MatMul(e_h));
            if (e_m is not null) u = u.Plus(m.MatMul(e_m));
            // One [B*MemoryD, q] x [q, q] product per step, as matmul folded it (TensorProducts on why not matmul).
            m = m.reshape(batch * memD, q).mm(adT).view(batch, memD, q).Plus(u.unsqueeze(2) * bd).view(batch, memD * q);
            var z = HiddenInput(m, xSteps[t]);
            if (hidden.Kind == HiddenCell.None)
            {
                outputs.Add(z);
            }
            else
            {
                (h, c) = hidden.Step(hidden.ProjectInput(z), h, c);
                outputs.Add(h);
                hiddens.Add(h);
                if (c is not null) cells.Add(c);
            }
            memories.Add(m);
        }
        return new Sequences(
            torch.stack(outputs, 1),
            torch.stack(memories, 1),
            hiddens.Count > 0 ? torch.stack(hiddens, 1) : null,
            cells.Count > 0 ? torch.stack(cells, 1) : null);
    }
}
