using Lmu.MLNet.Modules;

namespace Lmu.MLNet.Tests.Modules;

/// <summary>
/// Small stacks that mix forms: a feed-forward layer (parallel in torch, Conv or MatMul in ONNX) next to recurrent ones
/// (fused scan or cell in torch, blocks in ONNX), every optional path of a layer switched on somewhere.
/// </summary>
internal static class StackConfigs
{
    /// <summary>Parallel Dense layer, then a recurrent SimpleRnn layer (hidden- and memory-to-memory).</summary>
    public static LmuLayerOptions[] Two(int channels) =>
    [
        new() { InputSize = channels, MemoryD = 2, Order = 6, Theta = 14, HiddenCell = HiddenCell.Dense, HiddenUnits = 5, InputToHidden = true, UseMemoryBias = true },
        new() { InputSize = 5, MemoryD = 2, Order = 5, Theta = 11, HiddenCell = HiddenCell.SimpleRnn, HiddenUnits = 4, HiddenToMemory = true, MemoryToMemory = true, UseMemoryBias = true },
    ];

    /// <summary>
    /// Parallel memory-only layer (None cell, input to hidden), a recurrent LSTM layer (memory-to-memory, cell form),
    /// then a parallel Dense layer last (the last-step product).
    /// </summary>
    public static LmuLayerOptions[] Three(int channels) =>
    [
        new() { InputSize = channels, MemoryD = 2, Order = 4, Theta = 12, HiddenCell = HiddenCell.None, InputToHidden = true, UseMemoryBias = true },
        new() { InputSize = 8 + channels, MemoryD = 3, Order = 4, Theta = 9, HiddenCell = HiddenCell.Lstm, HiddenUnits = 4, MemoryToMemory = true, InputToHidden = true },
        new() { InputSize = 4, MemoryD = 1, Order = 5, Theta = 15, HiddenCell = HiddenCell.Dense, HiddenUnits = 3, UseMemoryBias = true },
    ];

    /// <summary>The stack with <paramref name="layers"/> layers (2 or 3).</summary>
    public static LmuLayerOptions[] Of(int layers, int channels) => layers == 2 ? Two(channels) : Three(channels);

    /// <summary>The forms torch resolves for each layer of <see cref="Of"/> (from a zero state).</summary>
    public static LmuExecutionMode[] TorchModes(int layers) => layers == 2
        ? [LmuExecutionMode.Parallel, LmuExecutionMode.FusedScan]
        : [LmuExecutionMode.Parallel, LmuExecutionMode.Cell, LmuExecutionMode.Parallel];

    /// <summary>A network over the stack with a one-layer head.</summary>
    public static LmuNetworkOptions Network(int layers, int channels, int outputs = 3) => new()
    {
        Layers = Of(layers, channels), HeadHiddenSizes = [4], OutputSize = outputs,
    };
}
