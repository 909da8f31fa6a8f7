using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Lmu.MLNet.Modules;

/// <summary>
/// A custom autograd function whose backward pass never lets an exception unwind into libtorch.
/// </summary>
/// <remarks>
/// Why: libtorch's autograd engine calls a TorchSharp function's backward from native code, and TorchSharp 0.107 does
/// not catch there, so any exception in it (an allocation that fails for want of memory, a bug) ends the whole process,
/// whatever the caller of <c>backward()</c> catches: an ML.NET host dies with its training. Here the exception is
/// caught and kept (<see cref="BackwardFailures"/>), and the backward pass returns an empty meta-device gradient for
/// every tensor input; libtorch rejects it and fails the <c>backward()</c> call with an ordinary exception, which the caller
/// can catch (<see cref="Training.LmuTrainer"/> rethrows it with the kept cause). Subclasses implement
/// <see cref="Forward"/> and <see cref="Backward"/> as TorchSharp's forward and backward.
/// </remarks>
internal abstract class GuardedFunction<T> : SingleTensorFunction<T> where T : GuardedFunction<T>, new()
{
    private const string TensorSlotsKey = "lmu.tensorSlots";

    /// <summary>When set, the next backward passes of this function throw this message first (tests only).</summary>
    internal static string? FailBackwardWith { get; set; }

    /// <inheritdoc />
    public sealed override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        // One gradient slot per input, a tensor where the input was one: what the failure path must return.
        ctx.save_data(TensorSlotsKey, vars.Select(v => v is Tensor t && !t.IsInvalid).ToArray());
        return Forward(ctx, vars);
    }

    /// <inheritdoc />
    public sealed override List<Tensor> backward(AutogradContext ctx, Tensor grad)
    {
        try
        {
            if (FailBackwardWith is { } message) throw new InvalidOperationException(message);
            return Backward(ctx, grad);
        }
        catch (Exception e)
        {
            BackwardFailures.Record(e);
            // Nothing here may throw (grad itself is not read: it could be what failed). A [0] tensor on the meta device
            // (no storage, so its creation cannot fail for want of memory) is rejected for an input of any shape: a
            // [0] CPU tensor was accepted for a 0-d or one-element input (summed to a zero gradient), which hid the
            // failure. The trainer also checks for a kept failure after backward() returns (LmuTrainer.Backward).
            var slots = (bool[])ctx.get_data(TensorSlotsKey);
            return slots.Select(isTensor => isTensor ? torch.empty(0, device: torch.META) : null!).ToList();
        }
    }

    /// <summary>The function's forward pass (TorchSharp's <c>forward</c>).</summary>
    protected abstract Tensor Forward(AutogradContext ctx, object[] vars);

    /// <summary>The function's backward pass (TorchSharp's <c>backward</c>); may throw.</summary>
    protected abstract List<Tensor> Backward(AutogradContext ctx, Tensor grad);
}
