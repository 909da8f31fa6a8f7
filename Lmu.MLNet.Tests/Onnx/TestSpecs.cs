using Lmu.MLNet.Network;
using Lmu.MLNet.Onnx;

using Lmu.MLNet.Modules;

namespace Lmu.MLNet.Tests.Onnx;

/// <summary>Random, reproducible network specs and inputs for graph tests.</summary>
internal static class TestSpecs
{
    /// <summary>A spec with random weights (scale ~0.5) and a two-layer head.</summary>
    public static LmuNetworkSpec Random(
        HiddenCell hidden,
        int seed,
        bool h2m = false,
        bool m2m = false,
        bool i2h = true,
        bool encoder = true,
        int steps = 9,
        int input = 3,
        int memoryD = 2,
        int order = 4,
        int units = 5,
        int outputs = 3)
    {
        var rng = new Random(seed);
        float[] R(int count) => Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var (ad, bd) = SpecSystem.Create(order, 6.0, zoh: true);
        var d = encoder ? memoryD : input;
        var g = hidden switch { HiddenCell.Lstm => 4, HiddenCell.Gru => 3, _ => 1 };
        var zWidth = d * order + (i2h ? input : 0);
        var layer = new LmuLayerSpec
        {
            InputSize = input,
            MemoryD = d,
            Order = order,
            Ad = ad,
            Bd = bd,
            Ex = encoder ? R(input * d) : null,
            Bu = R(d),
            Eh = h2m ? R(units * d) : null,
            Em = m2m ? R(d * order * d) : null,
            InputToHidden = i2h,
            Hidden = hidden,
            Units = hidden == HiddenCell.None ? 0 : units,
            HiddenInput = hidden == HiddenCell.None ? null : new DenseSpec
            {
                In = zWidth, Out = g * units, W = R(zWidth * g * units), B = R(g * units), Activation = LmuActivation.Tanh,
            },
            HiddenRecurrent = hidden is HiddenCell.None or HiddenCell.Dense ? null : new DenseSpec
            {
                In = units, Out = g * units, W = R(units * g * units), B = R(g * units),
            },
        };
        return new LmuNetworkSpec
        {
            SequenceLength = steps,
            Layers = [layer],
            Head =
            [
                new DenseSpec { In = layer.OutputSize, Out = 4, W = R(layer.OutputSize * 4), B = R(4), Activation = LmuActivation.Relu },
                new DenseSpec { In = 4, Out = outputs, W = R(4 * outputs), B = R(outputs) },
            ],
        };
    }

    /// <summary><paramref name="rows"/> random rows, flattened.</summary>
    public static float[] Inputs(LmuNetworkSpec spec, int rows, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, rows * spec.SequenceLength * spec.Layers[0].InputSize)
            .Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }
}
