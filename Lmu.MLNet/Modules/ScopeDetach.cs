using TorchSharp;

namespace Lmu.MLNet.Modules;

/// <summary>
/// Takes a module's parameters and buffers out of any dispose scope open while it was built, so that the module owns
/// them until its own Dispose. TorchSharp's modules do this in their setters (nn.Linear's weight); ours register
/// their fields through RegisterComponents, which does not, so a layer built inside <c>torch.NewDisposeScope()</c> lost
/// its weights when the scope ended and every forward pass failed with "Tensor invalid -- empty handle" (found by QA).
/// </summary>
internal static class ScopeDetach
{
    /// <summary>Detaches every parameter and buffer of <paramref name="module"/> and its submodules; call after RegisterComponents.</summary>
    public static void Components(torch.nn.Module module)
    {
        foreach (var (_, parameter) in module.named_parameters())
        {
            parameter.DetachFromDisposeScope();
        }

        foreach (var (_, buffer) in module.named_buffers())
        {
            buffer.DetachFromDisposeScope();
        }
    }
}
