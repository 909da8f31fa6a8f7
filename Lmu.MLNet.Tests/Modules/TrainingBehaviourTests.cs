using Lmu.MLNet.Maths;
using Lmu.MLNet.Modules;
using TorchSharp;
using static Lmu.MLNet.Tests.Modules.LayerTestHelpers;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Modules;

/// <summary>Trainable theta, dropout, persistence of module weights and native-memory hygiene.</summary>
[TestClass]
public sealed class TrainingBehaviourTests
{
    [TestMethod]
    [DataRow(LmuDiscretizer.Zoh, LmuExecutionMode.Parallel)]
    [DataRow(LmuDiscretizer.Zoh, LmuExecutionMode.FusedScan)]
    [DataRow(LmuDiscretizer.Euler, LmuExecutionMode.Cell)]
    [DataRow(LmuDiscretizer.Euler, LmuExecutionMode.Parallel)]
    [DataRow(LmuDiscretizer.Zoh, LmuExecutionMode.Cell)]
    public void TrainableThetaGetsAGradientAndMoves(LmuDiscretizer method, LmuExecutionMode mode)
    {
        torch.manual_seed(1);
        var o = EquivalenceTests.Options(HiddenCell.SimpleRnn, false, 1);
        o.TrainableTheta = true;
        o.Discretizer = method;
        o.ExecutionMode = mode;
        o.Theta = 30; // Euler at theta 7.5 with order 5 is unstable; its saturated tanh would hide the gradient
        using var layer = new LmuLayer(o);
        double before = layer.Dynamics.Theta;
        Assert.AreEqual(30, before, 1e-4);
        var names = layer.named_parameters().Select(p => p.name).ToList();
        CollectionAssert.Contains(names, "dynamics.log_theta");
        var opt = torch.optim.Adam(layer.parameters(), 0.05);
        var x = EquivalenceTests.Input(float32, 1, 2);
        // Target depends on a longer window, so the loss pulls theta.
        var target = x.select(2, 0).cumsum(1).narrow(1, 16, 1).expand(-1, 4);
        for (int i = 0; i < 5; i++)
        {
            opt.zero_grad();
            var loss = (layer.ForwardLast(x) - target).square().mean();
            loss.backward();
            var g = layer.named_parameters().First(p => p.name == "dynamics.log_theta").parameter.grad;
            Assert.IsNotNull(g);
            Assert.AreNotEqual(0.0, g.item<float>(), "theta gradient is zero");
            opt.step();
        }
        Assert.AreNotEqual(before, layer.Dynamics.Theta, 1e-4, "theta did not move");
    }

    [TestMethod]
    public void TrainableThetaMatchesFixedThetaAtInitialisation()
    {
        // The in-torch discretisation (matrix_exp of the augmented matrix, float64) equals the float64 maths.
        foreach (var method in new[] { LmuDiscretizer.Zoh, LmuDiscretizer.Euler })
        {
            var o = EquivalenceTests.Options(HiddenCell.Dense, true, 1);
            o.Discretizer = method;
            o.Theta = 9; // Euler's order-5 memory is stable from 7.685
            o.ExecutionMode = LmuExecutionMode.Cell;
            using var fixedLayer = new LmuLayer(o);
            fixedLayer.to(float64);
            Randomise(fixedLayer, 3);
            using var trainable = new LmuLayer(Changed(o, p => p.TrainableTheta = true));
            trainable.to(float64);
            using (torch.no_grad())
            {
                // log theta, created in float32, is its exact float64 value after the conversion.
                foreach (var (name, p) in fixedLayer.named_parameters())
                    trainable.named_parameters().First(q => q.name == name).parameter.copy_(p);
            }
            var x = EquivalenceTests.Input(float64, 8);
            using var _ = torch.no_grad();
            Assert.IsTrue(MaxAbsDiff(fixedLayer.forward(x), trainable.forward(x)) < 1e-10, method.ToString());
        }
    }

    [TestMethod]
    public void FixedThetaHasNoThetaParameterAndDoesNotMove()
    {
        using var layer = new LmuLayer(EquivalenceTests.Options(HiddenCell.Dense, false, 1));
        Assert.IsFalse(layer.named_parameters().Any(p => p.name.Contains("theta", StringComparison.Ordinal)));
        var opt = torch.optim.Adam(layer.parameters(), 0.1);
        var loss = layer.ForwardLast(EquivalenceTests.Input(float32, 2)).square().sum();
        loss.backward();
        opt.step();
        Assert.AreEqual(7.5, layer.Dynamics.Theta);
    }

    [TestMethod]
    public void ZohAndEulerAgreeForLargeTheta()
    {
        // Euler's error is O(1/theta) per step relative to the exact (ZOH) map: it must shrink as theta grows.
        double previous = double.MaxValue;
        foreach (var theta in new[] { 100.0, 1000.0, 10000.0 })
        {
            var o = new LmuLayerOptions { InputSize = 1, MemoryD = 1, Order = 6, Theta = theta, UseInputEncoder = false, HiddenCell = HiddenCell.None };
            using var zoh = new LmuLayer(o);
            using var euler = new LmuLayer(Changed(o, p => p.Discretizer = LmuDiscretizer.Euler));
            zoh.to(float64);
            euler.to(float64);
            var x = torch.sin(torch.arange(200, dtype: float64) * 0.05).view(1, 200, 1);
            using var _ = torch.no_grad();
            var a = zoh.forward(x);
            var b = euler.forward(x);
            double rel = MaxAbsDiff(a, b) / a.abs().max().item<double>();
            Assert.IsTrue(rel < previous, $"theta {theta}: {rel} did not shrink from {previous}");
            previous = rel;
        }
        Assert.IsTrue(previous < 1e-2, $"at theta 1e4 ZOH and Euler differ by {previous} relative");
    }

    [TestMethod]
    public void DecodedMemoryRecoversDelayedSine()
    {
        // u(t) = sin(2 pi t / 250); order 12, theta 100: u(t - r theta) read back from the torch memory, as the oracle does.
        const int order = 12;
        const double theta = 100;
        var o = new LmuLayerOptions { InputSize = 1, MemoryD = 1, Order = order, Theta = theta, UseInputEncoder = false, HiddenCell = HiddenCell.None };
        using var layer = new LmuLayer(o);
        layer.to(float64);
        var t = torch.arange(1000, dtype: float64);
        var u = torch.sin(t * (2 * Math.PI / 250));
        using var _ = torch.no_grad();
        var m = layer.forward(u.view(1, 1000, 1)).squeeze(0);              // [T, q]
        foreach (var r in new[] { 0.0, 0.5, 1.0 })
        {
            var c = torch.tensor(LegendreDecoder.Coefficients(order, r), float64);
            var decoded = m.matmul(c);
            var delayed = torch.sin((t - r * theta) * (2 * Math.PI / 250));
            double err = (decoded - delayed).narrow(0, 400, 600).abs().max().item<double>();
            // The oracle reports ~0.0096-0.0126 for these delays; 0.02 leaves room but catches a wrong memory (~1).
            Assert.IsTrue(err < 0.02, $"r={r}: error {err}");
        }
    }

    [TestMethod]
    public void DropoutActsOnlyInTraining()
    {
        var o = EquivalenceTests.Options(HiddenCell.SimpleRnn, true, 1);
        o.Dropout = 0.5;
        o.HiddenToMemory = true;
        o.RecurrentDropout = 0.5;
        using var layer = new LmuLayer(o);
        Randomise(layer, 2);
        var x = EquivalenceTests.Input(float32, 3);
        layer.eval();
        using (torch.no_grad())
        {
            Assert.AreEqual(0.0, MaxAbsDiff(layer.forward(x), layer.forward(x)), "eval must be deterministic");
            layer.train();
            Assert.IsTrue(MaxAbsDiff(layer.forward(x), layer.forward(x)) > 1e-3, "training must drop units");
            layer.eval();
            using var noDrop = CloneWith(layer, p => { p.Dropout = 0; p.RecurrentDropout = 0; });
            noDrop.eval();
            Assert.AreEqual(0.0, MaxAbsDiff(layer.forward(x), noDrop.forward(x)), "eval output must equal the no-dropout layer");
        }
    }

    [TestMethod]
    public void SavedWeightsRoundTrip()
    {
        var o = EquivalenceTests.Options(HiddenCell.Gru, true, 2);
        o.MemoryToMemory = true;
        o.TrainableTheta = true;
        using var layer = new LmuLayer(o);
        Randomise(layer, 5);
        var path = Path.Combine(Path.GetTempPath(), $"lmu-{Guid.NewGuid():N}.bin");
        try
        {
            layer.save(path);
            using var loaded = new LmuLayer(o);
            loaded.load(path);
            var x = EquivalenceTests.Input(float32, 6);
            using var _ = torch.no_grad();
            Assert.AreEqual(0.0, MaxAbsDiff(layer.forward(x), loaded.forward(x)));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    [DataRow(LmuExecutionMode.Parallel)]
    [DataRow(LmuExecutionMode.FusedScan)]
    [DataRow(LmuExecutionMode.Cell)]
    public void RepeatedTrainingStepsLeakNoTensors(LmuExecutionMode mode)
    {
        var o = EquivalenceTests.Options(HiddenCell.SimpleRnn, true, 1);
        o.ExecutionMode = mode;
        o.TrainableTheta = true;
        using var layer = new LmuLayer(o);
        var opt = torch.optim.Adam(layer.parameters(), 1e-3);
        var x = EquivalenceTests.Input(float32, 1);
        void Step()
        {
            using var scope = torch.NewDisposeScope();
            opt.zero_grad();
            layer.ForwardLast(x).square().mean().backward();
            opt.step();
        }
        Step(); // warm-up: caches and optimizer state are created once
        Step();
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 10; i++) Step();
        long after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Assert.AreEqual(before, after, $"live tensors grew from {before} to {after} over 10 steps");
    }

    private static LmuLayerOptions Changed(LmuLayerOptions o, Action<LmuLayerOptions> change)
    {
        var c = o.Clone();
        change(c);
        return c;
    }
}
