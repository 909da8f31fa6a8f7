using Lmu.MLNet.Modules;

namespace Lmu.MLNet.Samples.Bench;

/// <summary>
/// The three configurations of ../shared/bench/peer_pytorch_lmu.py (psMNIST shapes: batch 100, T 784, one input
/// channel, order 256, theta 784, 212 hidden units, 10 classes), built with our modules.
/// </summary>
internal static class BenchConfigurations
{
    public const int Batch = 100, Steps = 784, Order = 256, Units = 212, Classes = 10;

    /// <summary>The configuration names, in the peer's order.</summary>
    public static readonly IReadOnlyList<string> Names = ["ff_dense", "ff_rnn", "rnn_cell"];

    /// <summary>The configuration for sequences of <paramref name="steps"/> steps, theta = steps (the peer's choice).</summary>
    public static LmuNetworkOptions Create(string name, int steps = Steps) => name switch
    {
        // Memory by convolution, tanh(Dense) on the last step only.
        "ff_dense" => Network(HiddenCell.Dense, recurrentMemory: false, steps),
        // Memory by convolution, SimpleRNN over all steps.
        "ff_rnn" => Network(HiddenCell.SimpleRnn, recurrentMemory: false, steps),
        // Fully recurrent cell: hidden-to-memory and memory-to-memory, SimpleRNN hidden.
        "rnn_cell" => Network(HiddenCell.SimpleRnn, recurrentMemory: true, steps),
        _ => throw new ArgumentException($"Unknown benchmark configuration '{name}'; expected ff_dense, ff_rnn or rnn_cell.", nameof(name)),
    };

    private static LmuNetworkOptions Network(HiddenCell cell, bool recurrentMemory, int steps) => new()
    {
        Layer = new LmuLayerOptions
        {
            InputSize = 1, MemoryD = 1, Order = Order, Theta = steps, HiddenCell = cell, HiddenUnits = Units,
            InputToHidden = true, HiddenToMemory = recurrentMemory, MemoryToMemory = recurrentMemory,
            UseMemoryBias = recurrentMemory,
        },
        OutputSize = Classes,
    };
}
