using System.Globalization;
using Lmu.MLNet.Modules;

namespace Lmu.MLNet.Experiments;

/// <summary>One LMU-network point of an <see cref="LmuSearchSpace"/> (family <see cref="LmuModelFamily.LmuNetwork"/>).</summary>
/// <param name="Order">Legendre order.</param>
/// <param name="Theta">Window in steps.</param>
/// <param name="MemoryD">Memory dimensions.</param>
/// <param name="HiddenUnits">Hidden units.</param>
/// <param name="Cell">Hidden cell.</param>
/// <param name="LearningRate">Adam learning rate.</param>
/// <param name="Dropout">Dropout on the hidden output.</param>
/// <param name="Epochs">Epochs when fully trained.</param>
public sealed record LmuTrialConfiguration(
    int Order, double Theta, int MemoryD, int HiddenUnits, HiddenCell Cell, double LearningRate, double Dropout, int Epochs)
    : LmuModelConfiguration
{
    /// <inheritdoc />
    public override LmuModelFamily Family => LmuModelFamily.LmuNetwork;

    /// <summary>The network these values describe, for <paramref name="channels"/> inputs and <paramref name="classes"/> outputs.</summary>
    public LmuNetworkOptions NetworkOptions(int channels, int classes) => new()
    {
        Layer = new LmuLayerOptions
        {
            InputSize = channels,
            MemoryD = MemoryD,
            Order = Order,
            Theta = Theta,
            HiddenCell = Cell,
            HiddenUnits = HiddenUnits,
            Dropout = Dropout,
        },
        OutputSize = classes,
    };

    /// <summary>Compact one-line form for logs.</summary>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"order={Order} theta={Theta:0.#} memory_d={MemoryD} {Cell}({HiddenUnits}) lr={LearningRate:0.####} dropout={Dropout:0.##} epochs={Epochs}");
}
