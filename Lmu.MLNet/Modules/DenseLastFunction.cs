using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Lmu.MLNet.Modules;

/// <summary>
/// The Dense cell on the last step of a one-channel feed-forward memory, as one autograd node:
/// out = f(s (y W_m^T) + x_T W_x^T + b), with y [B, q] the last memory before its encoder, s the [1, 1] input encoder
/// (absent: 1), W = [W_m | W_x] the cell's whole [U, q (+ C)] kernel, b [U] its bias. Output [B, U].
/// </summary>
/// <remarks>
/// Why one node: through autograd the same expression is about fifteen backward nodes (the activation, two products,
/// the scale, the bias sum, and two narrows of W that each materialise a zero-filled [U, q + C] gradient before their
/// sum). Here the backward pass writes W's gradient once, both column ranges in place with beta = 0, and forms the
/// scale's gradient as one dot product. Measured on the bench's ff_dense step (2-core AMD EPYC, 1 thread): the peak
/// memory a training step adds 1,356-1,416 KB -> 960-1,200 KB (three runs each); forward and backward 1.08-1.12 ->
/// 1.01-1.06 ms in a loop, the whole step within the bench's noise (1.26 ms either way). Applies when nothing upstream
/// needs a gradient (y and x_T are constants of the batch): a first layer with fixed dynamics.
/// Inputs: y, W, activation, hasX, hasBias, hasScale, then x_T [B, C], b and s where present.
/// </remarks>
internal sealed class DenseLastFunction : GuardedFunction<DenseLastFunction>
{
    private const int FixedInputs = 6;

    public override string Name => "LmuDenseLast";

    // Counts forward passes, so tests can tell that the path they compare was taken.
    private static long _calls;

    internal static long Calls => Interlocked.Read(ref _calls);

    /// <summary>f(s (y W_m^T) + x_T W_x^T + b); <paramref name="xLast"/>, <paramref name="bias"/> and <paramref name="scale"/> may be null.</summary>
    public static Tensor Apply(Tensor y, Tensor? xLast, Tensor weight, Tensor? bias, Tensor? scale, LmuActivation activation)
    {
        var inputs = new List<object> { y, weight, activation, xLast is not null, bias is not null, scale is not null };
        if (xLast is not null) inputs.Add(xLast);
        if (bias is not null) inputs.Add(bias);
        if (scale is not null) inputs.Add(scale);
        return apply(inputs.ToArray());
    }

    protected override Tensor Forward(AutogradContext ctx, object[] vars)
    {
        Interlocked.Increment(ref _calls);
        Tensor y = (Tensor)vars[0], w = (Tensor)vars[1];
        var act = (LmuActivation)vars[2];
        bool hasX = (bool)vars[3], hasBias = (bool)vars[4], hasScale = (bool)vars[5];
        int at = FixedInputs;
        Tensor? xLast = hasX ? (Tensor)vars[at++] : null;
        Tensor? bias = hasBias ? (Tensor)vars[at++] : null;
        Tensor? scale = hasScale ? (Tensor)vars[at] : null;
        long q = y.shape[1];

        using var wm = w.narrow(1, 0, q);
        using var wmT = wm.t();
        var p = y.mm(wmT);                                                         // [B, U], y W_m^T
        Tensor pre;
        if (xLast is not null)
        {
            using var wx = w.narrow(1, q, xLast.shape[1]);
            using var wxT = wx.t();
            pre = bias is not null ? torch.addmm(bias, xLast, wxT, 1, 1) : xLast.mm(wxT);
        }
        else
        {
            pre = bias is not null ? bias.expand(y.shape[0], -1).clone() : torch.zeros_like(p);
        }
        Release(scale is not null ? pre.addcmul_(p, scale, TorchScalars.One) : pre.add_(p, TorchScalars.One), pre);
        LinearScanFunction.ActivateInPlace(pre, act);

        bool scaleGrad = scale is not null && scale.requires_grad;
        var saved = new List<Tensor> { y, w, pre };
        if (xLast is not null) saved.Add(xLast);
        if (scale is not null) saved.Add(scale);
        if (scaleGrad) saved.Add(p);
        else p.Dispose();
        ctx.save_for_backward(saved);
        ctx.save_data("act", act);
        ctx.save_data("hasX", hasX);
        ctx.save_data("hasBias", hasBias);
        ctx.save_data("hasScale", hasScale);
        ctx.save_data("scaleGrad", scaleGrad);
        ctx.save_data("weightGrad", w.requires_grad);
        ctx.save_data("biasGrad", bias?.requires_grad == true);
        return pre;
    }

    protected override List<Tensor> Backward(AutogradContext ctx, Tensor grad)
    {
        var saved = ctx.get_saved_variables();
        var act = (LmuActivation)ctx.get_data("act");
        bool hasX = (bool)ctx.get_data("hasX"), hasBias = (bool)ctx.get_data("hasBias"), hasScale = (bool)ctx.get_data("hasScale");
        bool scaleGrad = (bool)ctx.get_data("scaleGrad"), weightGrad = (bool)ctx.get_data("weightGrad"), biasGrad = (bool)ctx.get_data("biasGrad");
        Tensor y = saved[0], w = saved[1], output = saved[2];
        int at = 3;
        Tensor? xLast = hasX ? saved[at++] : null;
        Tensor? scale = hasScale ? saved[at++] : null;
        Tensor? p = scaleGrad ? saved[at] : null;
        long q = y.shape[1];

        // dL/dpre = grad f'(pre), f' read from the output.
        Tensor dpre;
        if (act == LmuActivation.Identity)
        {
            dpre = grad.alias();
        }
        else
        {
            dpre = torch.empty_like(output);
            LinearScanFunction.DerivativeInto(output, act, dpre);
            Release(dpre.mul_(grad), dpre);
        }

        Tensor? gradW = null;
        if (weightGrad)
        {
            using var dpreT = dpre.t();
            gradW = torch.empty_like(w);
            using (var gm = gradW.narrow(1, 0, q))
            {
                // beta = 0: the fresh buffer's contents are ignored, not read. The scale multiplies afterwards as a
                // tensor (addmm's alpha is a float, which would round a float64 scale).
                Release(gm.addmm_(dpreT, y, 0, 1), gm);
                if (scale is not null) Release(gm.mul_(scale), gm);
            }
            if (xLast is not null)
            {
                using var gx = gradW.narrow(1, q, xLast.shape[1]);
                Release(gx.addmm_(dpreT, xLast, 0, 1), gx);
            }
        }
        var gradBias = biasGrad ? dpre.sum(dim: 0) : null;          // named: a literal 0 binds to sum(ScalarType)
        Tensor? gradScale = null;
        if (p is not null)
        {
            using var flatD = dpre.reshape(-1);
            using var flatP = p.reshape(-1);
            using var dot = flatD.dot(flatP);
            gradScale = dot.view(1, 1);
        }
        dpre.Dispose();
        foreach (var t in saved) t.Dispose();

        var result = new List<Tensor> { null!, gradW!, null!, null!, null!, null! };
        if (hasX) result.Add(null!);
        if (hasBias) result.Add(gradBias!);
        if (hasScale) result.Add(gradScale!);
        return result;
    }

    private static void Release(Tensor result, Tensor target) => LinearScanFunction.Release(result, target);
}
