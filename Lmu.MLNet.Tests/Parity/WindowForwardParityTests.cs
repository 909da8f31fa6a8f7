using Lmu.MLNet.Forecasting;
using Lmu.MLNet.Modules;
using TorchSharp;
using static Lmu.MLNet.Tests.Modules.LayerTestHelpers;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Parity;

/// <summary>
/// The float64 window forward (<see cref="LmuWindowForward"/>: the streaming forecast engine's path for networks whose
/// state cannot slide, and the reference of the ONNX parity tests) against TorchSharp's network, for every hidden cell
/// under every combination of recurrent encoders. Tolerance 1e-4 on logits of O(1) (float32 against float64 over 30
/// steps). Why every combination: a Dense cell's output feeding a hidden-to-memory encoder was read as zero there until
/// 2026-12-06, with every SimpleRnn case passing.
/// </summary>
[TestClass]
public sealed class WindowForwardParityTests
{
    public static IEnumerable<object[]> Configs()
    {
        foreach (var cell in new[] { HiddenCell.Dense, HiddenCell.SimpleRnn, HiddenCell.Lstm, HiddenCell.Gru })
        {
            yield return [cell, true, false];
            yield return [cell, false, true];
            yield return [cell, true, true];
        }

        yield return [HiddenCell.None, false, true];
    }

    [TestMethod]
    [DynamicData(nameof(Configs))]
    public void TheWindowForwardMatchesTorch(HiddenCell cell, bool hiddenToMemory, bool memoryToMemory)
    {
        const int steps = 30, channels = 2, rows = 4;
        using var net = new LmuNetwork(new LmuNetworkOptions
        {
            Layer = new LmuLayerOptions
            {
                InputSize = channels, MemoryD = 2, Order = 6, Theta = 20, HiddenCell = cell, HiddenUnits = 5,
                HiddenToMemory = hiddenToMemory, MemoryToMemory = memoryToMemory, InputToHidden = true, UseMemoryBias = true,
            },
            HeadHiddenSizes = [4], OutputSize = 3,
        });
        Randomise(net, 19, 0.5);
        net.eval();
        using var scope = NewDisposeScope();
        var x = torch.randn([rows, steps, channels], generator: new torch.Generator(6));
        float[] logits;
        using (torch.no_grad()) logits = net.forward(x).data<float>().ToArray();
        var spec = net.ToSpec(steps);
        var flat = x.reshape(rows, -1).data<float>().ToArray();
        for (var r = 0; r < rows; r++)
        {
            var reference = LmuWindowForward.Run(spec, flat.AsSpan(r * steps * channels, steps * channels).ToArray().Select(v => (double)v).ToArray());
            for (var k = 0; k < reference.Length; k++)
            {
                Assert.AreEqual(reference[k], logits[r * 3 + k], 1e-4, $"{cell} h2m={hiddenToMemory} m2m={memoryToMemory} row {r} output {k}");
            }
        }
    }
}
