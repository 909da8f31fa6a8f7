using Lmu.MLNet.Modules;
using TorchSharp;
using static Lmu.MLNet.Tests.Modules.LayerTestHelpers;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Modules;

/// <summary>
/// The parallel form's last-step shortcut (one product of the reversed input with the impulse response, then the
/// hidden cell on that step) against the step-by-step cell: outputs and every gradient, float64. Where the hidden
/// cell is Dense and the input is mixed after the convolution, the shortcut folds u's encoder (and the memory bias's
/// response) into the Dense kernel; the rows below cover the fold's three kernels (an einsum, one scale, no
/// encoder) and the two cases it must leave alone. Tolerance 1e-9: the forms sum in different orders over 17 steps
/// of O(1) values (float64 round-off ~1e-15 relative); a wrong fold (a missing bias response, a transposed
/// encoder, the x_t kernel columns misread) moves outputs or gradients by ~1e-1.
/// </summary>
[TestClass]
public sealed class ParallelLastStepTests
{
    [TestMethod]
    [DataRow(HiddenCell.Dense, true, 2, 3, true, true, true, DisplayName = "Dense, 2 channels into 3 memories: folded by einsum")]
    [DataRow(HiddenCell.Dense, false, 1, 1, true, true, true, DisplayName = "Dense, one channel, one memory: folded as one scale")]
    [DataRow(HiddenCell.Dense, true, 1, 1, true, false, true, DisplayName = "Dense, one scale, no memory bias")]
    [DataRow(HiddenCell.Dense, true, 3, 3, false, true, true, DisplayName = "Dense without an input encoder: the kernel as it is")]
    [DataRow(HiddenCell.Dense, true, 2, 3, true, true, true, true, DisplayName = "Dense, folded by einsum, theta, A and B learned: their gradients through the fold")]
    [DataRow(HiddenCell.Dense, true, 2, 1, true, true, false, DisplayName = "Dense, more channels than memories: encoded first, not folded")]
    [DataRow(HiddenCell.None, true, 2, 3, true, true, false, DisplayName = "no hidden cell: nothing to fold into")]
    public void LastStepEqualsTheCellWithGradients(HiddenCell cell, bool inputToHidden, int inputSize, int memoryD, bool encoder, bool memoryBias, bool folded, bool learnedDynamics = false)
    {
        var o = new LmuLayerOptions
        {
            InputSize = inputSize, MemoryD = memoryD, Order = 5, Theta = 7.5, HiddenCell = cell, HiddenUnits = 4,
            InputToHidden = inputToHidden, UseInputEncoder = encoder, UseMemoryBias = memoryBias,
            ExecutionMode = LmuExecutionMode.Cell,
            TrainableTheta = learnedDynamics, TrainableA = learnedDynamics, TrainableB = learnedDynamics,
        };
        using var reference = new LmuLayer(o);
        reference.to(float64);
        Randomise(reference, seed: 31);
        using var parallel = CloneWith(reference, p => p.ExecutionMode = LmuExecutionMode.Parallel);
        var x = torch.randn([4, 17, inputSize], dtype: float64, generator: new torch.Generator(32));

        // With an input gradient (a layer inside a stack) and without (a first layer): the fold applies to both.
        foreach (bool inputGradient in new[] { false, true })
        {
            string what = $"input gradient {inputGradient}";
            long calls = LmuLayer.FoldedDenseLastCalls;
            var xa = x.detach().clone().requires_grad_(inputGradient);
            var xb = x.detach().clone().requires_grad_(inputGradient);
            var ya = reference.ForwardLast(xa);
            var yb = parallel.ForwardLast(xb);
            Assert.AreEqual(folded, LmuLayer.FoldedDenseLastCalls > calls, $"{what}: folded Dense path taken");
            Bound.Below(1e-9, MaxAbsDiff(ya, yb), $"{what}: outputs");

            var w = torch.randn(ya.shape, dtype: float64, generator: new torch.Generator(33));
            (ya * w).sum().backward();
            (yb * w).sum().backward();
            if (inputGradient) Bound.Below(1e-9, MaxAbsDiff(xa.grad!, xb.grad!), $"{what}: input gradient");
            var theirs = parallel.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad);
            foreach (var (name, p) in reference.named_parameters())
            {
                Assert.IsNotNull(p.grad, $"{what}: no reference gradient for {name}");
                Assert.IsTrue(p.grad.abs().max().item<double>() > 1e-6, $"{what}: the reference gradient of {name} is zero: the test cannot tell");
                Assert.IsNotNull(theirs[name], $"{what}: no gradient for {name}");
                Bound.Below(1e-9, MaxAbsDiff(p.grad, theirs[name]!), $"{what}: gradient of {name}");
            }
            reference.zero_grad();
            parallel.zero_grad();
        }
    }

    [TestMethod]
    public void TanhWithoutAGradientMatchesTanh()
    {
        // Without a gradient the hidden cell's tanh runs as 2 sigmoid(2x) - 1 (faster than libtorch's tanh on CPU);
        // it must stay tanh: within 2e-7 in float32 (about one unit in the last place near +-1) and 1e-15 in float64,
        // over saturation, zero and both signs. A wrong constant (sigmoid(x), a missing -1) is off by 0.1 or more.
        // Both sizes: below LinearScanFunction.NativeTanhBelow values libtorch's tanh runs, from it on the sigmoid form.
        using var scope = NewDisposeScope();
        foreach (var (dtype, tol, n) in new[] { (float32, 2e-7, 101), (float32, 2e-7, 20001), (float64, 1e-15, 101), (float64, 1e-15, 20001) })
        {
            var x = torch.linspace(-20, 20, n, dtype: dtype);
            Tensor y;
            using (torch.no_grad()) y = HiddenCellModule.Activate(x, LmuActivation.Tanh);
            Bound.Below(tol, MaxAbsDiff(y, x.to(float64).tanh()), $"{dtype}: against float64 tanh");
            Bound.Below(1e-15, MaxAbsDiff(x, torch.linspace(-20, 20, n, dtype: dtype)), $"{dtype}: the input changed");

            // With a gradient: tanh's own derivative, 1 - tanh^2.
            var xg = x.detach().clone().requires_grad_(true);
            HiddenCellModule.Activate(xg, LmuActivation.Tanh).sum().backward();
            var expected = x.to(float64).tanh();
            Bound.Below(tol * 10, MaxAbsDiff(xg.grad!, (expected * expected).neg().add(1.0)), $"{dtype}: derivative");
        }
    }
}
