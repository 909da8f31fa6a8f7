using Lmu.MLNet.Modules;
using TorchSharp;
using static Lmu.MLNet.Tests.Modules.LayerTestHelpers;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Modules;

/// <summary>
/// Steps past a row's length are never read, whatever they hold: a network's outputs and its parameters' gradients are
/// bit-identical for padding of zeros, 1e6, 1e30, NaN and infinity, in every form. Why exact: the padding is set to zero
/// before any form reads it, so every form computes on the same numbers. Before (numerics QA), the FFT form's round-off
/// spread padding of 1e6 into the real steps (0.045 at the output), NaN or infinite padding made a padded row NaN in
/// every form, and training read it while the exported graph did not.
/// </summary>
[TestClass]
public sealed class PaddingTests
{
    private const int Steps = 24;
    private static readonly long[] Lengths = [24, 7, 1, 15];

    public static IEnumerable<object[]> Networks()
    {
        // The FFT form over a memory-only layer and a Dense layer with a truncated window (where padding leaked), the
        // direct convolution, a pooling readout over the fused scan, the cell form, and a stack.
        yield return ["None, FFT, last step", new LmuNetworkOptions { Layer = Layer(HiddenCell.None, LmuExecutionMode.Parallel), OutputSize = 3 }];
        yield return ["Dense k 7, FFT, mean", new LmuNetworkOptions { Layer = Layer(HiddenCell.Dense, LmuExecutionMode.Parallel, truncation: 7), Readout = LmuReadout.Mean, OutputSize = 3 }];
        yield return ["Dense, direct, last step", new LmuNetworkOptions { Layer = Layer(HiddenCell.Dense, LmuExecutionMode.Parallel, ParallelConvolution.Direct), OutputSize = 3 }];
        yield return ["SimpleRnn, fused scan, mean and max", new LmuNetworkOptions { Layer = Layer(HiddenCell.SimpleRnn, LmuExecutionMode.FusedScan), Readout = LmuReadout.MeanAndMax, OutputSize = 3 }];
        yield return ["Lstm, cell, last step", new LmuNetworkOptions { Layer = Layer(HiddenCell.Lstm, LmuExecutionMode.Cell), OutputSize = 3 }];
        yield return ["stack of two", StackConfigs.Network(2, 2)];
    }

    [TestMethod]
    [DynamicData(nameof(Networks))]
    public void PaddingIsNeverReadByOutputsOrGradients(string name, LmuNetworkOptions options)
    {
        using var scope = NewDisposeScope();
        using var net = new LmuNetwork(options);
        Randomise(net, seed: 5);
        var channels = options.Layers.Count > 0 ? options.Layers[0].InputSize : options.Layer.InputSize;
        var lengths = torch.tensor(Lengths);
        var zeroPadded = Input(channels, 0f);
        var (outputs, gradients) = Run(net, zeroPadded, lengths);
        foreach (var padding in new[] { 1e6f, 1e30f, float.NaN, float.PositiveInfinity })
        {
            var (paddedOutputs, paddedGradients) = Run(net, Input(channels, padding), lengths);
            Assert.AreEqual(0.0, MaxAbsDiff(outputs, paddedOutputs), $"{name}: outputs with padding {padding}");
            for (var i = 0; i < gradients.Length; i++)
            {
                Assert.AreEqual(0.0, MaxAbsDiff(gradients[i], paddedGradients[i]), $"{name}: gradient {i} with padding {padding}");
            }
        }
    }

    [TestMethod]
    public void ALayerCalledWithLengthsIgnoresItsPaddingToo()
    {
        using var scope = NewDisposeScope();
        using var layer = new LmuLayer(Layer(HiddenCell.None, LmuExecutionMode.Parallel));
        Randomise(layer, seed: 6);
        using var _ = torch.no_grad();
        var lengths = torch.tensor(Lengths);
        var last = layer.ForwardLast(Input(2, 0f), lengths);
        var (sequence, state) = layer.forward(Input(2, 0f), null, lengths);
        foreach (var padding in new[] { 1e6f, float.NaN })
        {
            Assert.AreEqual(0.0, MaxAbsDiff(last, layer.ForwardLast(Input(2, padding), lengths)), $"last step, padding {padding}");
            var (paddedSequence, paddedState) = layer.forward(Input(2, padding), null, lengths);
            Assert.AreEqual(0.0, MaxAbsDiff(sequence, paddedSequence), $"sequence, padding {padding}");
            Assert.AreEqual(0.0, MaxAbsDiff(state.Memory, paddedState.Memory), $"state, padding {padding}");
        }
    }

    private static LmuLayerOptions Layer(HiddenCell cell, LmuExecutionMode mode, ParallelConvolution convolution = ParallelConvolution.Fft, int truncation = 0) => new()
    {
        InputSize = 2, MemoryD = 2, Order = 8, Theta = 20, HiddenCell = cell, HiddenUnits = cell == HiddenCell.None ? 0 : 5,
        InputToHidden = cell != HiddenCell.None, ExecutionMode = mode, Convolution = convolution, ImpulseTruncation = truncation,
    };

    /// <summary>Four rows of <see cref="Steps"/> steps, real values up to each row's length, <paramref name="padding"/> after.</summary>
    private static Tensor Input(int channels, float padding)
    {
        var random = new Random(11);
        var values = new float[Lengths.Length * Steps * channels];
        for (var b = 0; b < Lengths.Length; b++)
        {
            for (var t = 0; t < Steps; t++)
            {
                for (var c = 0; c < channels; c++)
                {
                    var real = (float)((random.NextDouble() * 2) - 1);
                    values[(((b * Steps) + t) * channels) + c] = t < Lengths[b] ? real : padding;
                }
            }
        }

        return torch.tensor(values, [Lengths.Length, Steps, channels]);
    }

    /// <summary>The network's outputs and the gradient of their sum for every parameter, in training mode.</summary>
    private static (Tensor Outputs, Tensor[] Gradients) Run(LmuNetwork net, Tensor x, Tensor lengths)
    {
        net.train();
        net.zero_grad();
        var y = net.forward(x, lengths);
        y.sum().backward();
        var gradients = net.parameters().Where(p => p.grad is not null).Select(p => p.grad!.clone()).ToArray();
        Assert.IsNotEmpty(gradients, "the parameters have gradients");
        return (y.detach(), gradients);
    }
}
