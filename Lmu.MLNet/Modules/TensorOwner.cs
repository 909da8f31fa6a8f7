using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

/// <summary>
/// Owns the tensors a derived object keeps past the dispose scope they were made in (the scans' per-pass plans), and
/// disposes them with itself.
/// </summary>
internal abstract class TensorOwner : IDisposable
{
    private readonly List<Tensor> _owned = [];

    /// <inheritdoc />
    public void Dispose() => _owned.ForEach(t => t.Dispose());

    /// <summary>Detaches <paramref name="t"/> from its dispose scope and takes ownership of it.</summary>
    protected Tensor Keep(Tensor t)
    {
        var kept = t.DetachFromDisposeScope();
        _owned.Add(kept);
        return kept;
    }
}
