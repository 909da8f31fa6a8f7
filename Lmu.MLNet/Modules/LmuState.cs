using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

/// <summary>
/// Recurrent state of an LMU layer after some steps, for streaming use: pass it back into
/// <see cref="LmuLayer.forward(Tensor, LmuState?, Tensor?)"/> to continue a sequence where it stopped.
/// </summary>
/// <remarks>Owns its tensors: dispose it (or let a dispose scope do so) when done.</remarks>
public sealed class LmuState : IDisposable
{
    /// <summary>Creates a state from its parts (shapes documented on the properties).</summary>
    public LmuState(Tensor memory, Tensor? hidden, Tensor? cell)
    {
        Memory = memory;
        Hidden = hidden;
        Cell = cell;
    }

    /// <summary>Flattened memory m_t, shape [batch, MemoryD * Order], channel-major (index k*Order + i).</summary>
    public Tensor Memory { get; }

    /// <summary>
    /// Hidden state h_t, shape [batch, HiddenUnits]; null when the layer has no hidden cell (required then), or, passed
    /// in to a layer that has one, to start that cell at rest (zeros) with the given memory.
    /// </summary>
    public Tensor? Hidden { get; }

    /// <summary>LSTM cell state c_t, shape [batch, HiddenUnits]; null for other cells (required then), or, passed in to an LSTM layer, zeros.</summary>
    public Tensor? Cell { get; }

    /// <summary>A detached copy (no autograd history), e.g. for truncated back-propagation or checkpoints.</summary>
    public LmuState Detach() => new(Memory.detach().clone(), Hidden?.detach().clone(), Cell?.detach().clone());

    /// <summary>Keeps the tensors alive after the current dispose scope ends.</summary>
    public LmuState MoveToOuterDisposeScope()
    {
        Memory.MoveToOuterDisposeScope();
        Hidden?.MoveToOuterDisposeScope();
        Cell?.MoveToOuterDisposeScope();
        return this;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Memory.Dispose();
        Hidden?.Dispose();
        Cell?.Dispose();
    }
}
