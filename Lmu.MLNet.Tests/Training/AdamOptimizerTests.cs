using Lmu.MLNet.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Training;

/// <summary>
/// Our Adam/AdamW against TorchSharp's own optimizers (same updates on the same problem) and against a float64
/// reference written here from the update equations (Kingma &amp; Ba 2015; Loshchilov &amp; Hutter 2019).
/// </summary>
[TestClass]
public sealed class AdamOptimizerTests
{
    [TestMethod]
    [DataRow(0.0, DisplayName = "Adam")]
    [DataRow(0.05, DisplayName = "AdamW")]
    public void MatchesTorchSharpsOptimizerStepByStep(double weightDecay)
    {
        // The same small network twice, trained on the same batches with a learning rate that changes mid-way.
        torch.manual_seed(11);
        using var ours = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3));
        using var theirs = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3));
        theirs.load_state_dict(ours.state_dict());
        using var x = torch.randn(32, 6);
        using var y = torch.randn(32, 3);
        using var mine = new AdamOptimizer(ours.parameters(), 0.01, weightDecay: weightDecay);
#pragma warning disable RS0030 // the reference on purpose
        using OptimizerHelper reference = weightDecay > 0 ? torch.optim.AdamW(theirs.parameters(), 0.01, weight_decay: weightDecay) : torch.optim.Adam(theirs.parameters(), 0.01);
#pragma warning restore RS0030
        for (var step = 1; step <= 30; step++)
        {
            var lr = step <= 15 ? 0.01 : 0.003;
            mine.LearningRate = lr;
            foreach (var g in reference.ParamGroups) g.LearningRate = lr;
            MseStep(ours, x, y, mine.ZeroGrad, mine.Step);
            MseStep(theirs, x, y, () => reference.zero_grad(), () => reference.step());
            // Same operations in the same order: equal up to float32 rounding of a handful of ops.
            AssertSameParameters(ours, theirs, step);
        }

        Assert.AreEqual(30L, mine.StepCount);
    }

    [TestMethod]
    [DataRow(0.0)]
    [DataRow(0.1)]
    public void MatchesAFloat64ReferenceOfTheUpdateEquations(double weightDecay)
    {
        // Loss sum_i w_i (p_i - c_i)^2, whose gradient 2 w (p - c) the reference computes itself.
        double[] start = [0.5, -1.5, 2.0, 0.0, 3.0], c = [1.0, 1.0, -1.0, 0.25, 3.0], w = [1.0, 0.1, 10.0, 2.0, 0.5];
        const double Lr = 0.05, B1 = 0.8, B2 = 0.99, Eps = 1e-6;
        using var p = new Parameter(torch.tensor(start, float64));
        using var cT = torch.tensor(c, float64);
        using var wT = torch.tensor(w, float64);
        using var opt = new AdamOptimizer([p], Lr, B1, B2, Eps, weightDecay);
        long before = AdamKernel.Calls;

        var q = (double[])start.Clone();
        var m = new double[q.Length];
        var v = new double[q.Length];
        for (var t = 1; t <= 40; t++)
        {
            using (var scope = NewDisposeScope())
            {
                opt.ZeroGrad();
                (wT * (p - cT) * (p - cT)).sum().backward();
                opt.Step();
            }

            for (var i = 0; i < q.Length; i++)
            {
                var g = 2 * w[i] * (q[i] - c[i]);
                q[i] *= 1 - (Lr * weightDecay);
                m[i] = (B1 * m[i]) + ((1 - B1) * g);
                v[i] = (B2 * v[i]) + ((1 - B2) * g * g);
                var mHat = m[i] / (1 - Math.Pow(B1, t));
                var denominator = (Math.Sqrt(v[i]) / Math.Sqrt(1 - Math.Pow(B2, t))) + Eps;
                q[i] -= Lr * mHat / denominator;
            }

            var got = p.detach().data<double>().ToArray();
            for (var i = 0; i < q.Length; i++)
            {
                // float64 both sides; the two differ only in where the bias correction 1/(1 - b1^t) is applied.
                Assert.AreEqual(q[i], got[i], 1e-12, $"p[{i}] after step {t}");
            }
        }

        // Five float64 values: the kernel's vector loop (4 per vector) and its scalar tail both ran.
        Assert.AreEqual(40L, AdamKernel.Calls - before, "the one-pass kernel took every step");
    }

    [TestMethod]
    [DataRow(0.0, DisplayName = "Adam")]
    [DataRow(0.05, DisplayName = "AdamW")]
    public void TheOnePassKernelMatchesTheTensorOps(double weightDecay)
    {
        // The same network twice: one updated by AdamKernel, one by the six libtorch ops. Parameter sizes 1-40 cover
        // the kernel's vector loop and its scalar tail.
        torch.manual_seed(5);
        using var fused = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 1));
        using var ops = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 1));
        ops.load_state_dict(fused.state_dict());
        using var x = torch.randn(16, 5);
        using var y = torch.randn(16, 1);
        using var a = new AdamOptimizer(fused.parameters(), 0.02, weightDecay: weightDecay);
        using var b = new AdamOptimizer(ops.parameters(), 0.02, weightDecay: weightDecay);
        long before = AdamKernel.Calls;
        try
        {
            for (var step = 1; step <= 25; step++)
            {
                a.LearningRate = b.LearningRate = step <= 12 ? 0.02 : 0.005;
                AdamKernel.Enabled = true;
                MseStep(fused, x, y, a.ZeroGrad, a.Step);
                AdamKernel.Enabled = false;
                MseStep(ops, x, y, b.ZeroGrad, b.Step);
                // The kernel rounds as the ops do except for m: libtorch's lerp_ rounds once (a fused multiply-add),
                // the kernel twice.
                AssertSameParameters(fused, ops, step);
            }
        }
        finally
        {
            AdamKernel.Enabled = true;
        }

        Assert.AreEqual(25L * 4, AdamKernel.Calls - before, "the kernel updated each of the 4 parameters at each step");
    }

    /// <summary>One optimiser step of <paramref name="net"/> on the MSE of (x, y).</summary>
    private static void MseStep(nn.Module<Tensor, Tensor> net, Tensor x, Tensor y, Action zeroGrad, Action step)
    {
        using var scope = NewDisposeScope();
        zeroGrad();
        nn.functional.mse_loss(net.forward(x), y).backward();
        step();
    }

    /// <summary>
    /// Every parameter of the two networks within 1e-6: a few float32 ulp of values ~0.1-1 after a few dozen steps,
    /// where a wrong moment or bias correction moves weights by ~1e-3 per step (NaN fails, see Bound).
    /// </summary>
    private static void AssertSameParameters(nn.Module a, nn.Module b, int step)
    {
        var pa = a.parameters().ToArray();
        var pb = b.parameters().ToArray();
        for (var i = 0; i < pa.Length; i++)
        {
            using var diff = (pa[i] - pb[i]).abs().max();
            Bound.AtMost(1e-6f, diff.item<float>(), $"parameter {i} after step {step}");
        }
    }

    [TestMethod]
    public void AGraphThatSavedTheOldWeightsCannotBackpropagateAfterAStep()
    {
        // The kernel writes the weights' memory directly; the optimizer then bumps their version counter, so a second
        // backward pass through a graph that saved them fails as it does after libtorch's own in-place ops.
        using var w = new Parameter(torch.randn(6));
        using var opt = new AdamOptimizer([w], 0.1);
        using var scope = NewDisposeScope();
        var loss = (w * w).sum();
        loss.backward(retain_graph: true);
        long before = AdamKernel.Calls;
        opt.Step();
        Assert.AreEqual(before + 1, AdamKernel.Calls, "the kernel took the step");
        var error = Assert.ThrowsExactly<System.Runtime.InteropServices.ExternalException>(() => loss.backward());
        StringAssert.Contains(error.Message, "modified by an inplace operation");
    }

    [TestMethod]
    public void TensorsTheKernelCannotSpanTakeTheTensorOps()
    {
        using var p = torch.zeros(4, 3);
        using var g = torch.zeros(4, 3);
        using var m = torch.zeros(4, 3);
        using var v = torch.zeros(4, 3);
        Assert.IsTrue(AdamKernel.Qualifies(p, g, m, v));
        using var transposed = torch.zeros(3, 4).t();
        Assert.IsFalse(AdamKernel.Qualifies(transposed, g, m, v), "not contiguous");
        using var half = torch.zeros(4, 3, dtype: float16);
        Assert.IsFalse(AdamKernel.Qualifies(half, half, half, half), "float16");
        using var wide = torch.zeros(4, 3, dtype: float64);
        Assert.IsFalse(AdamKernel.Qualifies(wide, g, m, v), "mixed dtypes");
        using var small = torch.zeros(11);
        Assert.IsFalse(AdamKernel.Qualifies(p, small, m, v), "sizes differ");
    }

    [TestMethod]
    public void ParametersWithoutAGradientAreLeftAloneAndBadSettingsAreRejected()
    {
        using var used = new Parameter(torch.ones(3));
        using var unused = new Parameter(torch.full(2, 7.0f));
        using var opt = new AdamOptimizer([used, unused], 0.1);
        using (var scope = NewDisposeScope())
        {
            (used * used).sum().backward();
            opt.Step();
        }

        CollectionAssert.AreEqual(new[] { 7f, 7f }, unused.detach().data<float>().ToArray());
        Assert.IsTrue(used.detach().data<float>().ToArray().All(x => Math.Abs(x - 0.9f) < 1e-6), "first Adam step moves each weight by lr against the gradient's sign");

        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new AdamOptimizer([used], 0)).Message, "learningRate");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new AdamOptimizer([used], 1e-3, beta1: 1)).Message, "beta1");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new AdamOptimizer([used], 1e-3, weightDecay: -1)).Message, "weightDecay");
        opt.Dispose();
        Assert.ThrowsExactly<ObjectDisposedException>(opt.Step);
    }
}
