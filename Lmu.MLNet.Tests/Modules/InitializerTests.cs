using Lmu.MLNet.Modules;
using Lmu.MLNet.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Modules;

/// <summary>Encoder and kernel initialisers (defaults reproduce the earlier draws exactly) and trainability flags.</summary>
[TestClass]
public sealed class InitializerTests
{
    /// <summary>Every component present: e_x, b_u, e_h, e_m, W_ih (memory and x columns), W_hh.</summary>
    private static LmuLayerOptions Full() => new()
    {
        InputSize = 3, MemoryD = 2, Order = 4, Theta = 10, HiddenCell = HiddenCell.SimpleRnn, HiddenUnits = 5,
        HiddenToMemory = true, MemoryToMemory = true, InputToHidden = true, UseMemoryBias = true,
    };

    [TestMethod]
    [DataRow(HiddenCell.SimpleRnn)]
    [DataRow(HiddenCell.Lstm)]
    [DataRow(HiddenCell.Dense)]
    public void DefaultsMakeTheSameDrawsAsBefore(HiddenCell cell)
    {
        // The draws the layer made before initialisers were options, written out: same seed, same order, same bounds.
        var o = Full();
        o.HiddenCell = cell;
        int gates = cell == HiddenCell.Lstm ? 4 : 1, units = o.HiddenUnits, z = o.HiddenInputSize;
        torch.manual_seed(31);
        var ex = torch.empty(3, 2).uniform_(-Math.Sqrt(3.0 / 3), Math.Sqrt(3.0 / 3));
        var eh = torch.empty(units, 2).uniform_(-Math.Sqrt(3.0 / units), Math.Sqrt(3.0 / units));
        double k = 1 / Math.Sqrt(units);
        var wih = torch.empty(gates * units, z).uniform_(-k, k);
        var bih = torch.empty(gates * units).uniform_(-k, k);
        var whh = cell == HiddenCell.Dense ? null : torch.empty(gates * units, units).uniform_(-k, k);
        torch.manual_seed(31);
        using var layer = new LmuLayer(o);
        AssertEqual(ex, layer.InputEncoder!, "e_x");
        AssertEqual(eh, layer.HiddenEncoder!, "e_h");
        AssertEqual(torch.zeros(8, 2), layer.MemoryEncoder!, "e_m");
        AssertEqual(wih, layer.Hidden.InputWeight!, "W_ih");
        AssertEqual(bih, layer.Hidden.InputBias!, "b_ih");
        if (whh is not null) AssertEqual(whh, layer.Hidden.RecurrentWeight!, "W_hh");
        Assert.IsTrue(layer.parameters().All(p => p.requires_grad), "everything trains by default");
    }

    [TestMethod]
    public void EachInitializerHasItsDistribution()
    {
        // Large encoders so the statistics are tight: e_x [InputSize=200, MemoryD=300], fan_in 200, fan_out 300.
        foreach (var init in Enum.GetValues<LmuInitializer>())
        {
            torch.manual_seed(5);
            var o = new LmuLayerOptions { InputSize = 200, MemoryD = 300, Order = 2, HiddenCell = HiddenCell.None, InputEncoderInitializer = init, HiddenUnits = 16 };
            using var layer = new LmuLayer(o);
            var w = layer.InputEncoder!.detach().to(float64);
            double max = w.abs().max().item<double>(), std = w.std().item<double>();
            switch (init)
            {
                case LmuInitializer.Zeros:
                    Assert.AreEqual(0.0, max);
                    break;
                case LmuInitializer.RecurrentUniform:
                    AssertUniform(max, std, 1 / Math.Sqrt(16), init);
                    break;
                case LmuInitializer.LecunUniform:
                    AssertUniform(max, std, Math.Sqrt(3.0 / 200), init);
                    break;
                case LmuInitializer.XavierUniform:
                    AssertUniform(max, std, Math.Sqrt(6.0 / 500), init);
                    break;
                case LmuInitializer.XavierNormal:
                    Assert.AreEqual(Math.Sqrt(2.0 / 500), std, 0.03 * Math.Sqrt(2.0 / 500), "XavierNormal std");
                    Assert.IsTrue(max > 3.5 * std, "XavierNormal has Gaussian tails");
                    break;
                case LmuInitializer.Orthogonal:
                    // 200 x 300: orthonormal rows.
                    var gram = w.matmul(w.t());
                    Assert.IsTrue(MaxAbs(gram, torch.eye(200, dtype: float64)) < 1e-5, "W W^T = I");
                    break;
                default:
                    Assert.Fail($"untested initializer {init}");
                    break;
            }
        }
    }

    [TestMethod]
    public void KernelInitializersReachTheirKernels()
    {
        var o = Full();
        o.HiddenUnits = 6;
        o.MemoryKernelInitializer = LmuInitializer.Zeros;
        o.HiddenKernelInitializer = LmuInitializer.Orthogonal;
        o.HiddenEncoderInitializer = LmuInitializer.Zeros;
        o.MemoryEncoderInitializer = LmuInitializer.XavierUniform;
        using var layer = new LmuLayer(o);
        Assert.AreEqual(0.0, layer.Hidden.InputWeight!.abs().max().item<float>(), "W_ih zeros");
        var whh = layer.Hidden.RecurrentWeight!.detach();
        Assert.IsTrue(MaxAbs(whh.matmul(whh.t()), torch.eye(6)) < 1e-5, "W_hh orthogonal");
        Assert.AreEqual(0.0, layer.HiddenEncoder!.abs().max().item<float>(), "e_h zeros");
        Assert.IsTrue(layer.MemoryEncoder!.abs().max().item<float>() > 0, "e_m drawn");
        Assert.IsTrue(layer.Hidden.InputBias!.abs().max().item<float>() > 0, "b_ih keeps its draw");
    }

    public static IEnumerable<object[]> Flags() =>
    [
        ["TrainableInputEncoder", "e_x"],
        ["TrainableHiddenEncoder", "e_h"],
        ["TrainableMemoryEncoder", "e_m"],
        ["TrainableMemoryKernel", "hidden.W_ih"],
        ["TrainableHiddenKernel", "hidden.W_hh"],
    ];

    [TestMethod]
    [DynamicData(nameof(Flags))]
    public void AFrozenComponentStaysWhileTheRestTrains(string flag, string frozen)
    {
        var o = Full();
        typeof(LmuLayerOptions).GetProperty(flag)!.SetValue(o, false);
        torch.manual_seed(12);
        using var net = new LmuNetwork(new LmuNetworkOptions { Layer = o, OutputSize = 2 });
        var before = net.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        var frozenName = "layers.0." + frozen;
        Assert.IsTrue(before.ContainsKey(frozenName), $"no parameter {frozenName}: {string.Join(", ", before.Keys)}");
        Assert.IsFalse(net.named_parameters().First(p => p.name == frozenName).parameter.requires_grad, $"{frozenName} requires grad");
        Assert.AreEqual(1, net.named_parameters().Count(p => !p.parameter.requires_grad), "exactly one frozen parameter");

        var g = new torch.Generator(3);
        var x = torch.randn([24, 12, 3], generator: g);
        var y = torch.randn([24, 2], generator: g);
        // Weight decay on: a trainer that handed frozen parameters to AdamW would still move them.
        LmuTrainer.Train(net, new TensorBatchSource(x, y, 8, true, 1), null, LmuLoss.MeanSquaredError,
            new LmuTrainingOptions { Epochs = 2, LearningRate = 0.01, WeightDecay = 0.1, Seed = 1 });
        foreach (var (name, p) in net.named_parameters())
        {
            double moved = MaxAbs(before[name], p.detach());
            if (name == frozenName) Assert.AreEqual(0.0, moved, $"{flag} = false, yet {name} moved");
            else Assert.IsTrue(moved > 1e-6, $"{name} did not train (moved {moved}) with {flag} = false");
        }
    }

    [TestMethod]
    public void InvalidInitializerIsNamed()
    {
        var o = new LmuLayerOptions { HiddenKernelInitializer = (LmuInitializer)42 };
        var e = Assert.ThrowsExactly<ArgumentException>(() => o.Validate());
        StringAssert.Contains(e.Message, "HiddenKernelInitializer");
        StringAssert.Contains(e.Message, "42");
    }

    private static void AssertUniform(double max, double std, double limit, LmuInitializer init)
    {
        // 60,000 draws: the max is within 0.1 % of the bound, and the std of U(-l, l) is l / sqrt(3) to within 2 %.
        Assert.IsTrue(max <= limit && max > 0.999 * limit, $"{init}: max |w| {max} vs bound {limit}");
        Assert.AreEqual(limit / Math.Sqrt(3), std, 0.02 * limit / Math.Sqrt(3), $"{init}: std");
    }

    private static void AssertEqual(Tensor expected, Tensor actual, string what)
        => Assert.AreEqual(0.0, MaxAbs(expected, actual.detach()), $"{what} differs from the earlier draw");

    private static double MaxAbs(Tensor a, Tensor b)
    {
        using var d = (a.to(float64) - b.to(float64)).abs().max();
        return d.item<double>();
    }
}
