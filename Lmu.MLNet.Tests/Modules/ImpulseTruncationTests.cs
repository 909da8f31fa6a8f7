using Lmu.MLNet.Modules;
using TorchSharp;
using static Lmu.MLNet.Tests.Modules.LayerTestHelpers;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Modules;

/// <summary>
/// A truncated impulse response (<see cref="LmuLayerOptions.ImpulseTruncation"/> = k) makes the memory a window over
/// the last k inputs, m_t = sum_{s &lt; k} H[s] u_{t-s}. Every form must compute that same window: the FFT and the
/// direct convolutions, their memory-bias responses, the last-step product, the folded inference kernel and the
/// recurrent hidden cell over the windowed memory (until 2026-12-05 the FFT form, the bias responses and the blocked
/// projection kept the whole past). Reference: the step-by-step cell run over each window, float64, 1e-10 (sums of ~20
/// O(1) terms in another order; keeping one lag too many moves the outputs by ~1e-2).
/// </summary>
[TestClass]
public sealed class ImpulseTruncationTests
{
    private const int Steps = 20, K = 7;

    [TestMethod]
    [DataRow(ParallelConvolution.Fft, DisplayName = "FFT convolution")]
    [DataRow(ParallelConvolution.Direct, DisplayName = "direct convolution")]
    public void TheMemorySequenceIsTheWindowOfTheLastKInputs(ParallelConvolution convolution)
    {
        using var layer = Layer(HiddenCell.None, convolution);
        using var x = Input();
        using var y = layer.forward(x);
        using var expected = WindowReference(layer, x);
        Bound.Below(1e-10, MaxAbsDiff(y, expected), $"{convolution}: memory sequence against the windows");
    }

    [TestMethod]
    [DataRow(ParallelConvolution.Fft, DisplayName = "FFT convolution")]
    [DataRow(ParallelConvolution.Direct, DisplayName = "direct convolution")]
    public void ADenseCellReadsTheWindowInEveryFormOfItsLastStep(ParallelConvolution convolution)
    {
        using var layer = Layer(HiddenCell.Dense, convolution);
        using var x = Input();
        using var expected = WindowReference(layer, x).select(1, Steps - 1);
        layer.eval();
        using (var sequence = layer.forward(x).select(1, Steps - 1)) Bound.Below(1e-10, MaxAbsDiff(sequence, expected), "every step's output, last step");
        using (var last = layer.ForwardLast(x)) Bound.Below(1e-10, MaxAbsDiff(last, expected), "last step with a gradient");
        using (torch.no_grad())
        using (var folded = layer.ForwardLast(x))
        {
            Bound.Below(1e-10, MaxAbsDiff(folded, expected), "last step, inference");
        }
    }

    [TestMethod]
    [DataRow(true, DisplayName = "with a memory bias")]
    [DataRow(false, DisplayName = "without a memory bias (the FFT last-step path of ParallelLastRnn)")]
    public void ASimpleRnnCellRunsOverTheWindowedMemoryInEveryForm(bool memoryBias)
    {
        // Reference: the windowed memory (the None layer's output, checked above) fed to the cell's recurrence by hand.
        using var fft = Layer(HiddenCell.SimpleRnn, ParallelConvolution.Fft, memoryBias);
        using var direct = CloneWith(fft, o => o.Convolution = ParallelConvolution.Direct);
        using var memoryOnly = Layer(HiddenCell.None, ParallelConvolution.Fft, memoryBias);
        using (torch.no_grad())
        {
            var theirs = fft.state_dict();
            foreach (var (key, value) in memoryOnly.state_dict()) value.copy_(theirs[key]);   // e_x, b_u: the same memory
        }
        using var x = Input();
        using var m = WindowReference(memoryOnly, x);                                 // [B, T, D q + C]
        var w = fft.Hidden.InputWeight!;
        var u = fft.Hidden.RecurrentWeight!;
        var h = torch.zeros([x.shape[0], fft.Hidden.Units], dtype: float64);
        for (int t = 0; t < Steps; t++)
        {
            using var z = m.select(1, t);
            h = (z.matmul(w.t()) + fft.Hidden.InputBias! + h.matmul(u.t()) + fft.Hidden.RecurrentBias!).tanh();
        }
        fft.eval();
        direct.eval();
        foreach (var (name, layer) in new[] { ("FFT", fft), ("direct", direct) })
        {
            using var last = layer.ForwardLast(x);
            Bound.Below(1e-10, MaxAbsDiff(last, h), $"{name}, with a gradient");
            using var _ = torch.no_grad();
            using var inferred = layer.ForwardLast(x);
            Bound.Below(1e-10, MaxAbsDiff(inferred, h), $"{name}, inference (the blocked projection would keep the whole past)");
        }
        h.Dispose();
    }

    [TestMethod]
    public void FormsThatCannotComputeAWindowAreRefused()
    {
        var recurrent = new LmuLayerOptions { Order = 4, Theta = 5, HiddenCell = HiddenCell.SimpleRnn, HiddenUnits = 3, HiddenToMemory = true, ImpulseTruncation = K };
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(recurrent.Validate).Message, "ImpulseTruncation");
        var cell = new LmuLayerOptions { Order = 4, Theta = 5, ExecutionMode = LmuExecutionMode.Cell, ImpulseTruncation = K };
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(cell.Validate).Message, "ExecutionMode is Cell");

        // Streaming state: a window has none to carry.
        using var layer = Layer(HiddenCell.None, ParallelConvolution.Fft);
        using var x = Input();
        using var untruncated = CloneWith(layer, o => o.ImpulseTruncation = 0);
        var (_, state) = untruncated.forward(x, null);
        var e = Assert.ThrowsExactly<ArgumentException>(() => layer.forward(x, state));
        StringAssert.Contains(e.Message, "no recurrent state");
    }

    private static LmuLayer Layer(HiddenCell cell, ParallelConvolution convolution, bool memoryBias = true)
    {
        var layer = new LmuLayer(new LmuLayerOptions
        {
            InputSize = 2, MemoryD = 3, Order = 6, Theta = 9, HiddenCell = cell, HiddenUnits = 4, InputToHidden = true,
            UseMemoryBias = memoryBias, Convolution = convolution, ImpulseTruncation = K,
        });
        layer.to(float64);
        Randomise(layer, seed: 71);
        return layer;
    }

    private static Tensor Input() => torch.randn([3, Steps, 2], dtype: float64, generator: new torch.Generator(72));

    // Step t's output is the cell's output after running over x[t-K+1 .. t] from zero state (the memory's window),
    // valid for a non-recurrent hidden cell (None, Dense), whose output depends on m_t and x_t only.
    private static Tensor WindowReference(LmuLayer layer, Tensor x)
    {
        using var cell = CloneWith(layer, o => { o.ExecutionMode = LmuExecutionMode.Cell; o.ImpulseTruncation = 0; });
        using var _ = torch.no_grad();
        var outputs = new List<Tensor>();
        for (int t = 0; t < Steps; t++)
        {
            int from = Math.Max(0, t - K + 1);
            using var window = x.narrow(1, from, t + 1 - from);
            outputs.Add(cell.ForwardLast(window));
        }
        var y = torch.stack(outputs, 1);
        outputs.ForEach(o => o.Dispose());
        return y;
    }
}
