using Lmu.MLNet.Modules;
using TorchSharp;
using static Lmu.MLNet.Tests.Modules.LayerTestHelpers;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Modules;

/// <summary>
/// A stack in its fast forms (each layer parallel, fused scan or cell as it resolves) against the same stack with every
/// layer in the step-by-step cell form: outputs and every parameter's gradient, float64, tolerance 1e-9 (as the
/// single-layer equivalence tests: summation order and FFT round-off on O(1) values).
/// </summary>
[TestClass]
public sealed class StackEquivalenceTests
{
    [TestMethod]
    [DataRow(2)]
    [DataRow(3)]
    public void FastFormsEqualTheCellFormThroughTheStack(int layers)
    {
        var fastOptions = StackConfigs.Network(layers, channels: 2);
        var cellOptions = StackConfigs.Network(layers, channels: 2);
        foreach (var l in cellOptions.Layers) l.ExecutionMode = LmuExecutionMode.Cell;
        using var fast = new LmuNetwork(fastOptions);
        using var cell = new LmuNetwork(cellOptions);
        fast.to(float64);
        cell.to(float64);
        Randomise(fast, 5, 0.4);
        using (torch.no_grad())
        {
            var source = fast.state_dict();
            foreach (var (k, v) in cell.state_dict()) v.copy_(source[k]);
        }

        CollectionAssert.AreEqual(StackConfigs.TorchModes(layers), fast.Layers.Select(l => l.ResolveMode(false)).ToArray());
        Assert.IsTrue(cell.Layers.All(l => l.ResolveMode(false) == LmuExecutionMode.Cell));
        var x = torch.randn([4, 18, 2], dtype: float64, generator: new torch.Generator(11));
        foreach (var lengths in new Tensor?[] { null, torch.tensor(new long[] { 18, 3, 11, 1 }) })
        {
            fast.zero_grad();
            cell.zero_grad();
            using var a = fast.forward(x, lengths);
            using var b = cell.forward(x, lengths);
            var what = lengths is null ? "full rows" : "with lengths";
            Bound.Below(1e-9, MaxAbsDiff(a, b), $"{layers} layers, {what}: outputs");
            Assert.IsGreaterThan(1e-3, a.abs().max().item<double>(), "outputs are not trivially zero");
            // A loss that weights every output differently, so a swapped output would show in the gradients.
            using var w = torch.linspace(0.5, 1.5, a.numel(), dtype: float64).reshape(a.shape);
            (a * w).sum().backward();
            (b * w).sum().backward();
            var grads = cell.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad);
            foreach (var (name, p) in fast.named_parameters())
            {
                Assert.IsNotNull(p.grad, $"{name} has no gradient");
                Bound.Below(1e-9, MaxAbsDiff(p.grad, grads[name]!), $"{layers} layers, {what}: gradient of {name}");
            }
        }

        // Every layer's parameters are registered (and trained): layer i's encoder is reached through the stack.
        Assert.IsTrue(Enumerable.Range(0, layers).All(i => fast.named_parameters().Any(p => p.name.StartsWith($"layers.{i}.", StringComparison.Ordinal))));
    }
}
