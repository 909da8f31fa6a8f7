using Lmu.MLNet.Maths;
using Lmu.MLNet.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static Lmu.MLNet.Tests.Modules.LayerTestHelpers;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Modules;

/// <summary>
/// TrainableA / TrainableB: start at the Legendre system, gradients through every execution form against float64
/// central finite differences, every form runs the learned matrices, and only what trains moves.
/// </summary>
[TestClass]
public sealed class TrainableDynamicsTests
{
    [TestMethod]
    [DataRow(LmuDiscretizer.Zoh)]
    [DataRow(LmuDiscretizer.Euler)]
    public void LearnedDynamicsStartAtTheLegendreSystem(LmuDiscretizer method)
    {
        var o = EquivalenceTests.Options(HiddenCell.SimpleRnn, true, 2);
        o.Discretizer = method;
        o.Theta = 9; // Euler's order-5 memory is stable from 7.685
        o.ExecutionMode = LmuExecutionMode.Cell;
        using var fixedLayer = new LmuLayer(o);
        fixedLayer.to(float64);
        Randomise(fixedLayer, 3);
        using var learned = CloneWith(fixedLayer, p => { p.TrainableA = true; p.TrainableB = true; });
        // The Legendre A and B are integers (exact in float32); log theta, created in float32 too, is exact again in
        // float64 (found by QA: it kept its float32 rounding, 1e-7 relative off the float64 system).
        var x = EquivalenceTests.Input(float64, 8);
        using var _ = torch.no_grad();
        Assert.IsTrue(MaxAbsDiff(fixedLayer.forward(x), learned.forward(x)) < 1e-10, method.ToString());
        var (ad, bd) = learned.Dynamics.DiscreteMatrices();
        var sys = DiscreteLegendreSystem.Create(5, 9, method);
        Assert.IsTrue(MaxAbs(ad, sys.Ad) < 1e-6 && MaxAbs(bd, sys.Bd) < 1e-6, "exported matrices at initialisation");
    }

    [TestMethod]
    public void AFloat64LayerRunsItsOwnThetaAndKeepsATrainedOne()
    {
        const double theta = 4103.29548; // ln(theta) in float32 is exp'd back to 4103.29565
        var o = new LmuLayerOptions { InputSize = 1, Order = 6, Theta = theta, HiddenCell = HiddenCell.None, ExecutionMode = LmuExecutionMode.Cell };
        using var fixedLayer = new LmuLayer(o);
        fixedLayer.to(float64);
        using var layer = CloneWith(fixedLayer, p => p.TrainableTheta = true); // created in float32, converted, the encoder copied
        Assert.AreEqual(theta, layer.Dynamics.Theta, 1e-12 * theta, "a float64 layer's theta is its option's");
        var x = torch.randn([2, 9, 1], dtype: float64, generator: new torch.Generator(5));
        using (torch.no_grad())
        {
            var scale = fixedLayer.forward(x).abs().max().item<double>();
            Assert.IsTrue(MaxAbsDiff(fixedLayer.forward(x), layer.forward(x)) < 1e-12 * scale, $"the learned system at its start is the fixed float64 system: {MaxAbsDiff(fixedLayer.forward(x), layer.forward(x)):E3} of {scale:E3}");
        }

        // On its way through a half type (float16, bfloat16) too, and always for a fixed theta with learned A (review).
        foreach (var half in new[] { float16, bfloat16 })
        {
            using var through = new LmuLayer(o);
            through.to(half);
            through.to(float64);
            Assert.AreEqual(theta, through.Dynamics.Theta, 1e-12 * theta, $"through {half}");
        }

        using (var learnedA = CloneWith(fixedLayer, p => p.TrainableA = true))
        {
            learnedA.to(bfloat16);
            learnedA.to(float64);
            Assert.AreEqual(Math.Log(theta), Buffer(learnedA, "dynamics.log_theta").item<double>(), 1e-15, "a fixed theta is always its option's");
        }

        // A theta that trained in float32 is converted as it is, not put back to its start.
        o.TrainableTheta = true;
        using var trained = new LmuLayer(o);
        using (torch.no_grad()) Param(trained, "dynamics.log_theta").fill_(Math.Log(2000.0));
        trained.to(float64);
        Assert.AreEqual((double)(float)Math.Log(2000.0), Math.Log(trained.Dynamics.Theta), 1e-15, "a moved log theta keeps its value");
    }

    public static IEnumerable<object[]> Forms()
    {
        // (mode, convolution, cell, memoryD, recurrent memory, last step only): every code path that reads the dynamics.
        yield return [LmuExecutionMode.Cell, ParallelConvolution.Fft, HiddenCell.SimpleRnn, 1, true, false];
        yield return [LmuExecutionMode.Cell, ParallelConvolution.Fft, HiddenCell.Lstm, 2, false, false];
        yield return [LmuExecutionMode.FusedScan, ParallelConvolution.Fft, HiddenCell.SimpleRnn, 1, true, false];
        yield return [LmuExecutionMode.FusedScan, ParallelConvolution.Fft, HiddenCell.None, 2, true, false];
        yield return [LmuExecutionMode.Parallel, ParallelConvolution.Fft, HiddenCell.SimpleRnn, 1, false, false];  // projected kernel
        yield return [LmuExecutionMode.Parallel, ParallelConvolution.Fft, HiddenCell.SimpleRnn, 3, false, false];  // mix after convolution
        yield return [LmuExecutionMode.Parallel, ParallelConvolution.Direct, HiddenCell.Dense, 1, false, false];
        yield return [LmuExecutionMode.Parallel, ParallelConvolution.Fft, HiddenCell.None, 3, false, false];
        yield return [LmuExecutionMode.Parallel, ParallelConvolution.Fft, HiddenCell.Dense, 1, false, true];     // last step product
        yield return [LmuExecutionMode.Parallel, ParallelConvolution.Fft, HiddenCell.Dense, 3, false, true];
        // Last step only through the checkpointed scans (LinearScanLastFunction): the fused scan, and the parallel
        // SimpleRnn whose time-major shortcut must step aside when the dynamics learn.
        yield return [LmuExecutionMode.FusedScan, ParallelConvolution.Fft, HiddenCell.SimpleRnn, 1, true, true];
        yield return [LmuExecutionMode.Parallel, ParallelConvolution.Fft, HiddenCell.SimpleRnn, 3, false, true];
        yield return [LmuExecutionMode.Parallel, ParallelConvolution.Fft, HiddenCell.SimpleRnn, 1, false, true];
    }

    [TestMethod]
    [DynamicData(nameof(Forms))]
    public void GradientsMatchFloat64FiniteDifferences(LmuExecutionMode mode, ParallelConvolution conv, HiddenCell cell, int memoryD, bool recurrentMemory, bool lastOnly)
    {
        foreach (var method in new[] { LmuDiscretizer.Zoh, LmuDiscretizer.Euler })
        {
            using var layer = LearnedLayer(mode, conv, cell, memoryD, recurrentMemory, method, seed: 11);
            var x = EquivalenceTests.Input(float64, 5);
            var weights = Loss(layer, x, lastOnly, null).Weights;
            var (loss, _) = Loss(layer, x, lastOnly, weights);
            loss.backward();
            foreach (var name in new[] { "dynamics.A", "dynamics.B", "dynamics.log_theta" })
            {
                var p = Param(layer, name);
                var analytic = p.grad!.detach().clone().flatten();
                var flat = p.detach().flatten();
                // A few entries (diagonal, off-diagonal, last) are enough: a missing path changes every entry.
                var picks = new[] { 0L, flat.shape[0] / 2, flat.shape[0] - 1 }.Distinct();
                foreach (var i in picks)
                {
                    double fd = CentralDifference(layer, p, i, x, lastOnly, weights);
                    double ad = analytic[i].item<double>();
                    // Central differences with h = 1e-6 in float64: truncation ~h^2, rounding ~1e-16 |L| / h ~ 1e-9.
                    Assert.AreEqual(fd, ad, 1e-6 * (1 + Math.Abs(fd)), $"{method} {mode} {conv} {cell} d={memoryD} last={lastOnly}: d loss / d {name}[{i}]");
                }
            }
        }
    }

    [TestMethod]
    [DataRow(LmuExecutionMode.Cell)]
    [DataRow(LmuExecutionMode.Parallel)]
    public void AFloat32LayerRunsItsLearnedDynamicsToFloat32Rounding(LmuExecutionMode mode)
    {
        // Numerics QA: a float32 layer discretised learned A in float32 (torch's matrix exponential, then doublings of
        // its powers): Ad 9e-5 relative off at order 64, the output 8.7e-4 at order 128 against 2e-5 for fixed dynamics,
        // so the network trained on another function than its float64 export and engine compute. Now discretised in
        // float64 and cast once. Bounds: Ad and Bd within 1e-6 of their largest entry (float32's rounding is 6e-8); the
        // output over 400 steps within 1e-4 of its largest value (the fixed system's float32 run is about 1e-5 off
        // here, one rounding a step adding up through a memory of norm about 1).
        var o = new LmuLayerOptions { InputSize = 1, Order = 128, Theta = 256, HiddenCell = HiddenCell.None, TrainableA = true, ExecutionMode = mode };
        using var layer = new LmuLayer(o);
        using var exact = CloneWith(layer, _ => { });
        exact.to(float64);
        var (ad64, bd64) = exact.Dynamics.DiscreteMatrices();
        using (var scope = torch.NewDisposeScope())
        {
            var (adT, bd) = layer.Dynamics.Matrices(float32, CPU);
            var ad = FromRows(ad64);
            Assert.IsTrue(MaxAbsDiff(adT.t(), ad) < 1e-6 * ad.abs().max().item<double>(), $"Ad: {MaxAbsDiff(adT.t(), ad):E2}");
            var bdExact = torch.tensor(bd64, float64);
            Assert.IsTrue(MaxAbsDiff(bd, bdExact) < 1e-6 * bdExact.abs().max().item<double>(), $"Bd: {MaxAbsDiff(bd, bdExact):E2}");
        }

        var x = torch.randn([2, 400, 1], dtype: float64, generator: new torch.Generator(11));
        using var _ = torch.no_grad();
        var y = exact.forward(x);
        var scale = y.abs().max().item<double>();
        var error = MaxAbsDiff(layer.forward(x.to(float32)), y);
        Assert.IsTrue(error < 1e-4 * scale, $"{mode}: float32 output {error / scale:E2} of its largest value off the float64 layer");
    }

    [TestMethod]
    public void ALearnedImpulseResponseIsTheFloat64OneCastOnce()
    {
        // Review: the parallel form's H for learned dynamics (each pass's doubling, DynamicsPass) could go back to float32
        // powers without the test above noticing at order 128 over 400 steps. Here H over 2,048 steps at order 256 against
        // the float64 recurrence H[tau + 1] = Ad H[tau] from the same parameters: within 1e-6 of its largest entry (one
        // float32 rounding is 6e-8 of a value; float32 doublings square the power's rounding each time).
        var o = new LmuLayerOptions { InputSize = 1, Order = 256, Theta = 100, HiddenCell = HiddenCell.None, TrainableA = true, ExecutionMode = LmuExecutionMode.Parallel };
        using var layer = new LmuLayer(o);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        const int Steps = 2048;
        var h = new DynamicsPass(layer.Dynamics, float32, CPU).ImpulseResponse(Steps).to(float64);
        var (ad, bd) = layer.Dynamics.DiscreteMatrices();
        var adT = FromRows(ad).t();
        var rows = new List<Tensor> { torch.tensor(bd, float64).unsqueeze(0) };
        while (rows.Count < Steps)
        {
            rows.Add(rows[^1].matmul(adT));
        }

        var exact = torch.cat(rows, 0);
        var scale = exact.abs().max().item<double>();
        var error = MaxAbsDiff(h, exact);
        Assert.IsTrue(error < 1e-6 * scale, $"H {error / scale:E2} of its largest entry off the float64 recurrence");
    }

    [TestMethod]
    public void EveryFormRunsTheLearnedMatrices()
    {
        foreach (var method in new[] { LmuDiscretizer.Zoh, LmuDiscretizer.Euler })
        {
            using var cellForm = LearnedLayer(LmuExecutionMode.Cell, ParallelConvolution.Fft, HiddenCell.SimpleRnn, 3, false, method, seed: 4);
            using var fused = CloneWith(cellForm, o => o.ExecutionMode = LmuExecutionMode.FusedScan);
            using var fft = CloneWith(cellForm, o => o.ExecutionMode = LmuExecutionMode.Parallel);
            using var direct = CloneWith(cellForm, o => { o.ExecutionMode = LmuExecutionMode.Parallel; o.Convolution = ParallelConvolution.Direct; });
            using var legendre = new LmuLayer(Changed(cellForm.Options, o => { o.TrainableA = false; o.TrainableB = false; o.TrainableTheta = false; }));
            legendre.to(float64);
            CopyShared(cellForm, legendre);
            var x = EquivalenceTests.Input(float64, 2);
            using var _ = torch.no_grad();
            var reference = cellForm.forward(x);
            foreach (var (name, other) in new[] { ("fused", fused), ("fft", fft), ("direct", direct) })
                Assert.IsTrue(MaxAbsDiff(reference, other.forward(x)) < 1e-9, $"{method} {name}");
            Assert.IsTrue(MaxAbsDiff(reference, legendre.forward(x)) > 1e-3, $"{method}: the perturbed A and B changed nothing");
            Assert.IsTrue(MaxAbsDiff(cellForm.ForwardLast(x), fft.ForwardLast(x)) < 1e-9, $"{method} last step");
        }
    }

    [TestMethod]
    [DataRow(true, false, LmuExecutionMode.Parallel)]
    [DataRow(false, true, LmuExecutionMode.Parallel)]
    [DataRow(true, true, LmuExecutionMode.FusedScan)]
    [DataRow(true, false, LmuExecutionMode.Cell)]
    public void OnlyWhatTrainsMovesAndFormsStayEqualAfterTraining(bool trainA, bool trainB, LmuExecutionMode mode)
    {
        torch.manual_seed(2);
        var o = EquivalenceTests.Options(HiddenCell.SimpleRnn, false, 1);
        o.TrainableA = trainA;
        o.TrainableB = trainB;
        o.ExecutionMode = mode;
        o.Theta = 12;
        using var layer = new LmuLayer(o);
        var names = layer.named_parameters().Select(p => p.name).ToList();
        Assert.AreEqual(trainA, names.Contains("dynamics.A"), "A is a parameter exactly when it trains");
        Assert.AreEqual(trainB, names.Contains("dynamics.B"), "B is a parameter exactly when it trains");
        Assert.IsFalse(names.Contains("dynamics.log_theta"), "theta does not train");
        var a0 = Get(layer, "dynamics.A").detach().clone();
        var b0 = Get(layer, "dynamics.B").detach().clone();
        var opt = torch.optim.Adam(layer.parameters(), 0.05);
        var x = EquivalenceTests.Input(float32, 1, 2);
        var target = x.select(2, 0).cumsum(1).narrow(1, 16, 1).expand(-1, 4);
        for (int i = 0; i < 3; i++)
        {
            opt.zero_grad();
            var loss = (layer.ForwardLast(x) - target).pow(2).mean();
            loss.backward();
            opt.step();
        }
        Assert.AreEqual(trainA, MaxAbsDiff(a0, Get(layer, "dynamics.A")) > 1e-3, "A moved exactly when it trains");
        Assert.AreEqual(trainB, MaxAbsDiff(b0, Get(layer, "dynamics.B")) > 1e-3, "B moved exactly when it trains");
        Assert.AreEqual(12, layer.Dynamics.Theta);
        // No form may hold on to matrices from before the steps.
        using var cellForm = CloneWith(layer, p => p.ExecutionMode = LmuExecutionMode.Cell);
        using var _ = torch.no_grad();
        var y = layer.forward(x);
        Assert.IsTrue(MaxAbsDiff(y, cellForm.forward(x)) < 1e-4, "trained layer vs its cell form");
        Assert.IsTrue(MaxAbsDiff(y, layer.forward(x)) == 0, "repeatable");
    }

    [TestMethod]
    public void ThetaStaysFiniteUnderStepsThatPushItUp()
    {
        // With a constant input, m[0] is about (steps seen) / theta while theta exceeds them: minimising it pushes theta
        // up. Adam steps of 0.05 on 1/theta (0.1 here) crossed zero within three steps, made theta infinite and
        // silenced the memory for good; on log theta each step multiplies theta by about e^0.05.
        var o = new LmuLayerOptions { InputSize = 1, MemoryD = 1, Order = 4, Theta = 10, UseInputEncoder = false, HiddenCell = HiddenCell.None, TrainableTheta = true, TrainableA = true };
        using var layer = new LmuLayer(o);
        var opt = torch.optim.Adam(layer.parameters(), 0.05);
        var x = torch.ones(1, 8, 1);
        for (int i = 0; i < 10; i++)
        {
            opt.zero_grad();
            var loss = layer.ForwardLast(x).select(1, 0).sum();
            loss.backward();
            opt.step();
        }
        double theta = layer.Dynamics.Theta;
        Assert.IsTrue(double.IsFinite(theta) && theta > 10 * Math.Exp(0.3), $"theta {theta}: did not grow steadily, or left the finite range");
        using var _ = torch.no_grad();
        Assert.IsTrue(layer.ForwardLast(x).abs().sum().item<float>() > 1e-3, "the memory went silent");
    }

    [TestMethod]
    [DataRow(LmuDiscretizer.Zoh)]
    [DataRow(LmuDiscretizer.Euler)]
    public void ExportedMatricesAreTheFloat64DiscretisationOfTheLearnedSystem(LmuDiscretizer method)
    {
        using var layer = LearnedLayer(LmuExecutionMode.Parallel, ParallelConvolution.Fft, HiddenCell.Dense, 1, false, method, seed: 9);
        int q = layer.Options.Order;
        var a = ToMatrix(Get(layer, "dynamics.A"));
        var b = Get(layer, "dynamics.B").detach().to(float64).data<double>().ToArray();
        double inv = Math.Exp(-Get(layer, "dynamics.log_theta").detach().to(float64).item<double>());
        // Reference: the library's float64 Padé exponential (not torch) of the augmented matrix, or Euler by hand.
        var aug = new double[q + 1, q + 1];
        for (int i = 0; i < q; i++)
        {
            for (int j = 0; j < q; j++) aug[i, j] = a[i, j] * inv;
            aug[i, q] = b[i] * inv;
        }
        var e = method == LmuDiscretizer.Zoh ? MatrixExponential.Exp(aug) : aug;
        var (ad, bd) = layer.Dynamics.DiscreteMatrices();
        for (int i = 0; i < q; i++)
        {
            for (int j = 0; j < q; j++)
                Assert.AreEqual(e[i, j] + (method == LmuDiscretizer.Euler && i == j ? 1 : 0), ad[i, j], 1e-12, $"Ad[{i},{j}]");
            Assert.AreEqual(e[i, q], bd[i], 1e-12, $"Bd[{i}]");
        }
        Assert.ThrowsExactly<InvalidOperationException>(() => layer.Dynamics.ToDiscreteSystem());
    }

    [TestMethod]
    public void ParallelLastStepRnnCarriesTheGradientOfALearnedAWithThetaFixed()
    {
        // The time-major last-step shortcut of the parallel SimpleRnn runs its convolution without autograd; with A or B
        // learning (theta fixed) it must step aside, or their gradient is silently zero. Reference: the cell form.
        var o = EquivalenceTests.Options(HiddenCell.SimpleRnn, true, 3);
        o.UseMemoryBias = false;  // the shortcut's own preconditions: no memory bias, input mixed after the convolution
        o.ExecutionMode = LmuExecutionMode.Parallel;
        o.TrainableA = true;
        using var parallel = new LmuLayer(o);
        parallel.to(float64);
        Randomise(parallel, 5);
        using var cellForm = CloneWith(parallel, c => c.ExecutionMode = LmuExecutionMode.Cell);
        var x = EquivalenceTests.Input(float64, 6);
        long calls = LmuLayer.ParallelLastRnnCalls;
        parallel.ForwardLast(x).pow(2).sum().backward();
        cellForm.ForwardLast(x).pow(2).sum().backward();
        Assert.AreEqual(calls, LmuLayer.ParallelLastRnnCalls, "the no-autograd shortcut ran while A learns");
        var expected = Param(cellForm, "dynamics.A").grad!;
        Assert.IsTrue(expected.abs().max().item<double>() > 1e-6, "the reference gradient is zero: the test cannot tell");
        Assert.IsTrue(MaxAbsDiff(expected, Param(parallel, "dynamics.A").grad!) < 1e-9, "d loss / d A: parallel last step vs cell");
    }

    /// <summary>A float64 layer with A, B and theta learned and moved away from the Legendre system.</summary>
    internal static LmuLayer LearnedLayer(LmuExecutionMode mode, ParallelConvolution conv, HiddenCell cell, int memoryD, bool recurrentMemory, LmuDiscretizer method, long seed)
    {
        var o = FormOptions(mode, conv, cell, memoryD, recurrentMemory, method);
        o.TrainableA = o.TrainableB = o.TrainableTheta = true;
        var layer = new LmuLayer(o);
        layer.to(float64);
        Randomise(layer, seed);
        using var _ = torch.no_grad();
        var g = new torch.Generator((ulong)seed + 100);
        foreach (var name in new[] { "dynamics.A", "dynamics.B" })
        {
            var p = Param(layer, name);
            using var noise = torch.randn(p.shape, dtype: float64, generator: g) * 0.3;
            p.add_(noise);
        }
        return layer;
    }

    /// <summary>The options of one row of <see cref="Forms"/> (order 5, theta 9), nothing trainable in the dynamics yet.</summary>
    internal static LmuLayerOptions FormOptions(LmuExecutionMode mode, ParallelConvolution conv, HiddenCell cell, int memoryD, bool recurrentMemory, LmuDiscretizer method)
    {
        var o = EquivalenceTests.Options(cell, true, memoryD);
        o.MemoryToMemory = recurrentMemory;
        o.ExecutionMode = mode;
        o.Convolution = conv;
        o.Discretizer = method;
        o.Theta = 9;  // Euler at order 5 needs theta well above the order to stay stable
        return o;
    }

    private static LmuLayerOptions Changed(LmuLayerOptions o, Action<LmuLayerOptions> change)
    {
        change(o);
        return o;
    }

    /// <summary>Copies every parameter and buffer the target also has (the dynamics' own are left out).</summary>
    private static void CopyShared(nn.Module source, nn.Module target)
    {
        var dst = target.state_dict();
        using var _ = torch.no_grad();
        foreach (var (k, v) in source.state_dict())
            if (dst.TryGetValue(k, out var d)) d.copy_(v);
    }

    internal static (Tensor Loss, Tensor Weights) Loss(LmuLayer layer, Tensor x, bool lastOnly, Tensor? weights)
    {
        var y = lastOnly ? layer.ForwardLast(x) : layer.forward(x);
        weights ??= torch.randn(y.shape, dtype: float64, generator: new torch.Generator(77));
        return ((y * weights).sum(), weights);
    }

    internal static double CentralDifference(LmuLayer layer, Parameter p, long index, Tensor x, bool lastOnly, Tensor weights)
    {
        const double h = 1e-6;
        double At(double delta)
        {
            using var _ = torch.no_grad();
            using var flat = p.view(-1);
            using var entry = flat[index];
            double original = entry.item<double>();
            entry.fill_(original + delta);
            double value = Loss(layer, x, lastOnly, weights).Loss.item<double>();
            entry.fill_(original);
            return value;
        }
        return (At(h) - At(-h)) / (2 * h);
    }

    internal static Parameter Param(nn.Module m, string name)
        => m.named_parameters().FirstOrDefault(p => p.name == name).parameter ?? throw new AssertFailedException($"no parameter {name}");

    private static Tensor Buffer(nn.Module m, string name)
        => m.named_buffers().FirstOrDefault(p => p.name == name).buffer ?? throw new AssertFailedException($"no buffer {name}");

    /// <summary>A parameter or buffer by name.</summary>
    private static Tensor Get(nn.Module m, string name)
        => (Tensor?)m.named_parameters().FirstOrDefault(p => p.name == name).parameter ?? Buffer(m, name);

    private static double[,] ToMatrix(Tensor t)
    {
        var flat = t.detach().to(float64).contiguous().data<double>().ToArray();
        int n = (int)t.shape[0];
        var m = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) m[i, j] = flat[i * n + j];
        return m;
    }

    private static double MaxAbs(double[,] a, double[,] b)
    {
        double worst = 0;
        for (int i = 0; i < a.GetLength(0); i++)
            for (int j = 0; j < a.GetLength(1); j++) worst = Math.Max(worst, Math.Abs(a[i, j] - b[i, j]));
        return worst;
    }

    private static double MaxAbs(double[] a, double[] b) => a.Zip(b, (u, v) => Math.Abs(u - v)).Max();
}
