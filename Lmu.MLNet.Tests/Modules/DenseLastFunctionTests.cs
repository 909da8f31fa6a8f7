using Lmu.MLNet.Modules;
using TorchSharp;
using static Lmu.MLNet.Tests.Modules.LayerTestHelpers;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Modules;

/// <summary>
/// The Dense cell on the last step of a one-channel feed-forward memory as one autograd node (DenseLastFunction,
/// hand-written backward) against the step-by-step cell through autograd: outputs and every parameter's gradient,
/// float64, for each activation, with and without the x_t term, the encoder and the bias, and with parts frozen.
/// Tolerance 1e-9 as in <see cref="ParallelLastStepTests"/> (the forms sum in different orders over 17 steps; float64
/// round-off ~1e-15 relative); a wrong backward (the scale left out of W_m's gradient, the x_t columns misplaced, the
/// derivative taken at the pre-activation) moves a gradient by ~1e-1.
/// </summary>
[TestClass]
public sealed class DenseLastFunctionTests
{
    [TestMethod]
    [DataRow(LmuActivation.Tanh, true, true, true, DisplayName = "tanh, x_t term, encoder, bias")]
    [DataRow(LmuActivation.Sigmoid, true, true, true, DisplayName = "sigmoid")]
    [DataRow(LmuActivation.Relu, true, true, true, DisplayName = "relu")]
    [DataRow(LmuActivation.Identity, true, true, true, DisplayName = "identity")]
    [DataRow(LmuActivation.Tanh, false, true, true, DisplayName = "no x_t term")]
    [DataRow(LmuActivation.Tanh, true, false, true, DisplayName = "no input encoder")]
    [DataRow(LmuActivation.Relu, false, false, true, DisplayName = "relu, neither x_t nor encoder")]
    [DataRow(LmuActivation.Tanh, true, true, false, DisplayName = "encoder frozen")]
    public void OneNodeEqualsTheCellWithGradients(LmuActivation activation, bool inputToHidden, bool encoder, bool trainableEncoder)
    {
        var o = new LmuLayerOptions
        {
            InputSize = 1, MemoryD = 1, Order = 6, Theta = 9.5, HiddenCell = HiddenCell.Dense, HiddenUnits = 5,
            HiddenActivation = activation, InputToHidden = inputToHidden, UseInputEncoder = encoder,
            TrainableInputEncoder = trainableEncoder, ExecutionMode = LmuExecutionMode.Cell,
        };
        using var reference = new LmuLayer(o);
        reference.to(float64);
        Randomise(reference, seed: 41);
        using var parallel = CloneWith(reference, p => p.ExecutionMode = LmuExecutionMode.Parallel);
        var x = torch.randn([4, 17, 1], dtype: float64, generator: new torch.Generator(42));

        long calls = DenseLastFunction.Calls;
        var ya = reference.ForwardLast(x);
        var yb = parallel.ForwardLast(x);
        Assert.AreEqual(calls + 1, DenseLastFunction.Calls, "the one-node path was taken once");
        Bound.Below(1e-9, MaxAbsDiff(ya, yb), "outputs");

        var w = torch.randn(ya.shape, dtype: float64, generator: new torch.Generator(43));
        (ya * w).sum().backward();
        (yb * w).sum().backward();
        var theirs = parallel.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        int compared = 0;
        foreach (var (name, p) in reference.named_parameters())
        {
            if (!p.requires_grad)
            {
                Assert.IsNull(theirs[name].grad, $"{name} is frozen but got a gradient");
                continue;
            }
            Assert.IsNotNull(p.grad, $"no reference gradient for {name}");
            Assert.IsTrue(p.grad.abs().max().item<double>() > 1e-6, $"the reference gradient of {name} is zero: the test cannot tell");
            Assert.IsNotNull(theirs[name].grad, $"no gradient for {name}");
            Bound.Below(1e-9, MaxAbsDiff(p.grad, theirs[name].grad!), $"gradient of {name}");
            compared++;
        }
        // The Dense kernel and bias always, and the encoder when it trains.
        Assert.AreEqual(encoder && trainableEncoder ? 3 : 2, compared, "parameters compared");
    }

    [TestMethod]
    public void Float32TrainingStepsFollowTheUnfoldedForm()
    {
        // The bench's shape in float32 over a few Adam steps: the one-node path against the same layer forced through
        // autograd's nodes (an input that requires a gradient takes the general path). Float32 products of 64 steps
        // and 16 memories differ in summation order only: 1e-5 after three steps of learning rate 1e-2.
        var o = new LmuLayerOptions
        {
            InputSize = 1, MemoryD = 1, Order = 16, Theta = 64, HiddenCell = HiddenCell.Dense, HiddenUnits = 12,
            InputToHidden = true, ExecutionMode = LmuExecutionMode.Parallel,
        };
        torch.manual_seed(7);
        using var a = new LmuLayer(o);
        using var b = CloneWith(a, _ => { });
        var x = torch.randn([8, 64, 1], generator: new torch.Generator(8));
        using var optA = new Lmu.MLNet.Training.AdamOptimizer(a.parameters(), 1e-2);
        using var optB = new Lmu.MLNet.Training.AdamOptimizer(b.parameters(), 1e-2);
        for (int step = 0; step < 3; step++)
        {
            using var scope = NewDisposeScope();
            long calls = DenseLastFunction.Calls;
            optA.ZeroGrad();
            a.ForwardLast(x).square().sum().backward();
            optA.Step();
            Assert.AreEqual(calls + 1, DenseLastFunction.Calls, "a takes the one-node path");
            optB.ZeroGrad();
            b.ForwardLast(x.detach().clone().requires_grad_(true)).square().sum().backward();
            optB.Step();
            Assert.AreEqual(calls + 1, DenseLastFunction.Calls, "b does not");
        }
        var theirs = b.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in a.named_parameters())
            Bound.Below(1e-5, MaxAbsDiff(p, theirs[name]), $"{name} after three steps");
    }
}
