using System.Runtime.InteropServices;
using Lmu.MLNet.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Modules;

/// <summary>
/// Inputs libtorch would fail on inside a native call without a catch (TorchSharp's matmul), which ended the process
/// (found by QA): the library's products fail as exceptions, and the layer refuses such inputs first, naming them.
/// Without the fixes these tests abort the test host, which fails the run.
/// </summary>
[TestClass]
public sealed class NativeFailureTests
{
    public static IEnumerable<object[]> ProductShapes()
    {
        yield return [new long[] { 3 }, new long[] { 3 }];
        yield return [new long[] { 3 }, new long[] { 3, 4 }];
        yield return [new long[] { 3 }, new long[] { 2, 3, 4 }];
        yield return [new long[] { 5, 3 }, new long[] { 3 }];
        yield return [new long[] { 2, 5, 3 }, new long[] { 3 }];
        yield return [new long[] { 5, 3 }, new long[] { 3, 4 }];
        yield return [new long[] { 2, 5, 3 }, new long[] { 3, 4 }];
        yield return [new long[] { 2, 5, 3 }, new long[] { 2, 3, 4 }];
        yield return [new long[] { 5, 3 }, new long[] { 2, 3, 4 }];
        yield return [new long[] { 1, 5, 3 }, new long[] { 2, 3, 4 }];
        yield return [new long[] { 2, 1, 5, 3 }, new long[] { 3, 3, 4 }];
        // Empty dimensions (reshape's -1 cannot be resolved there; found by review).
        yield return [new long[] { 2, 5, 0 }, new long[] { 0, 4 }];
        yield return [new long[] { 2, 5, 0 }, new long[] { 0 }];
        yield return [new long[] { 3, 0, 2 }, new long[] { 3, 2, 4 }];
    }

    [TestMethod]
    [DynamicData(nameof(ProductShapes))]
    public void MatMulEqualsTorchsMatmulWithItsGradients(long[] left, long[] right)
    {
        // Float64, so only the summation order could differ: 1e-12 relative to the operands' scale.
        using var scope = NewDisposeScope();
        var g = new torch.Generator(7);
        var a = torch.randn(left, dtype: float64, generator: g).requires_grad_();
        var b = torch.randn(right, dtype: float64, generator: g).requires_grad_();
        var expected = a.matmul(b);
        var actual = a.MatMul(b);
        CollectionAssert.AreEqual(expected.shape, actual.shape);
        Assert.IsTrue(actual.allclose(expected, rtol: 1e-12, atol: 1e-12), "values");
        var weights = torch.randn(expected.shape, dtype: float64, generator: g);
        var (ga, gb) = Gradients(expected, weights, a, b);
        var (ha, hb) = Gradients(actual, weights, a, b);
        Assert.IsTrue(ha.allclose(ga, rtol: 1e-12, atol: 1e-12) && hb.allclose(gb, rtol: 1e-12, atol: 1e-12), "gradients");
    }

    private static (Tensor A, Tensor B) Gradients(Tensor product, Tensor weights, Tensor a, Tensor b)
    {
        var grads = torch.autograd.grad([(product * weights).sum()], [a, b], retain_graph: true);
        return (grads[0], grads[1]);
    }

    [TestMethod]
    public void MatMulFailuresAreExceptions()
    {
        // libtorch's errors arrive as TorchSharp's exceptions (ExternalException, or InvalidOperationException where
        // TorchSharp checks first): the point is that the process survives to throw.
        using var scope = NewDisposeScope();
        Assert.Throws<ExternalException>(() => torch.ones(2, 3, dtype: float64).MatMul(torch.ones(3, 4)));
        Assert.Throws<ExternalException>(() => torch.ones(2, 3, 5).MatMul(torch.ones(4, 6)));
        Assert.Throws<InvalidOperationException>(() => torch.ones(5).MatMul(torch.ones(4)));
        var batch = Assert.Throws<ArgumentException>(() => torch.ones(2, 5, 3).MatMul(torch.ones(3, 3, 4)));
        StringAssert.Contains(batch.Message, "do not broadcast");
    }

    public static IEnumerable<object[]> Layers()
    {
        yield return ["feed-forward memory, Dense (parallel)", new LmuLayerOptions { Order = 6, Theta = 8, HiddenCell = HiddenCell.Dense, HiddenUnits = 5 }];
        yield return ["feed-forward memory, SimpleRnn", new LmuLayerOptions { Order = 6, Theta = 8, HiddenUnits = 5 }];
        yield return ["recurrent memory (fused scan)", new LmuLayerOptions { Order = 6, Theta = 8, HiddenUnits = 5, HiddenToMemory = true, MemoryToMemory = true }];
        yield return ["recurrent memory, cell form", new LmuLayerOptions { Order = 6, Theta = 8, HiddenUnits = 5, HiddenToMemory = true, ExecutionMode = LmuExecutionMode.Cell }];
        yield return ["LSTM", new LmuLayerOptions { Order = 6, Theta = 8, HiddenCell = HiddenCell.Lstm, HiddenUnits = 5, HiddenToMemory = true }];
        yield return ["memory only", new LmuLayerOptions { Order = 6, Theta = 8, HiddenCell = HiddenCell.None }];
    }

    [TestMethod]
    [DynamicData(nameof(Layers))]
    public void AnInputOfAnotherDtypeIsRefusedNamingBoth(string name, LmuLayerOptions options)
    {
        using var layer = new LmuLayer(options);
        using var scope = NewDisposeScope();
        var x = torch.randn(3, 10, 1, dtype: float64);
        foreach (var call in new Action[] { () => layer.forward(x), () => layer.ForwardLast(x), () => layer.forward(x, null) })
        {
            var e = Assert.ThrowsExactly<ArgumentException>(call, name);
            Assert.AreEqual("x", e.ParamName, name);
            StringAssert.Contains(e.Message, "x is Float64", name);
            StringAssert.Contains(e.Message, "parameters are Float32", name);
        }
    }

    [TestMethod]
    public void ALayerWithoutWeightsRunsInTheInputsDtype()
    {
        // No encoder, no hidden cell, fixed dynamics: nothing to disagree with, so float64 input is float64 maths.
        using var layer = new LmuLayer(new LmuLayerOptions { Order = 6, Theta = 8, HiddenCell = HiddenCell.None, UseInputEncoder = false });
        using var scope = NewDisposeScope();
        var x = torch.randn(3, 10, 1, dtype: float64);
        var y64 = layer.ForwardLast(x);
        var y32 = layer.ForwardLast(x.to(float32));
        Assert.AreEqual(ScalarType.Float64, y64.dtype);
        Assert.IsTrue(y64.to(float32).allclose(y32, rtol: 1e-5, atol: 1e-5));
    }

    [TestMethod]
    public void ANetworkWithAWeightlessLayerRefusesAnInputOfAnotherDtype()
    {
        // The layer takes any float x; the head's product failed in libtorch's words.
        using var net = new LmuNetwork(new LmuNetworkOptions
        {
            Layer = new LmuLayerOptions { Order = 6, Theta = 8, HiddenCell = HiddenCell.None, UseInputEncoder = false },
            OutputSize = 2,
        });
        using var scope = NewDisposeScope();
        var e = Assert.ThrowsExactly<ArgumentException>(() => net.forward(torch.randn(3, 10, 1, dtype: float64)));
        Assert.AreEqual("x", e.ParamName);
        StringAssert.Contains(e.Message, "x is Float64");
        StringAssert.Contains(e.Message, "network's parameters are Float32");
        Assert.AreEqual(2L, net.forward(torch.randn(3, 10, 1)).shape[1], "float32 x still runs");
    }

    [TestMethod]
    [DynamicData(nameof(Layers))]
    public void AHalfPrecisionInputIsRefusedNamingItsDtype(string name, LmuLayerOptions options)
    {
        using var layer = new LmuLayer(options);
        layer.to(float16);
        using var scope = NewDisposeScope();
        foreach (var dtype in new[] { float16, bfloat16 })
        {
            var e = Assert.ThrowsExactly<ArgumentException>(() => layer.ForwardLast(torch.randn(3, 10, 1).to(dtype)), name);
            Assert.AreEqual("x", e.ParamName, name);
            StringAssert.Contains(e.Message, $"got {dtype}", name);
        }
    }

    [TestMethod]
    public void AStatePartTheLayerHasNoPlaceForIsRefused()
    {
        using var scope = NewDisposeScope();
        var x = torch.randn(3, 10, 1);
        using var none = new LmuLayer(new LmuLayerOptions { Order = 6, Theta = 8, HiddenCell = HiddenCell.None });
        var e = Assert.ThrowsExactly<ArgumentException>(() => none.forward(x, new LmuState(torch.zeros(3, 6), torch.zeros(3, 5), null)));
        StringAssert.Contains(e.Message, "state.Hidden is given");
        using var rnn = new LmuLayer(new LmuLayerOptions { Order = 6, Theta = 8, HiddenUnits = 5 });
        e = Assert.ThrowsExactly<ArgumentException>(() => rnn.forward(x, new LmuState(torch.zeros(3, 6), torch.zeros(3, 5), torch.zeros(3, 5))));
        StringAssert.Contains(e.Message, "state.Cell is given");
        StringAssert.Contains(e.Message, "SimpleRnn");
        using var lstm = new LmuLayer(new LmuLayerOptions { Order = 6, Theta = 8, HiddenUnits = 5, HiddenCell = HiddenCell.Lstm });
        var (_, final) = lstm.forward(x, new LmuState(torch.zeros(3, 6), torch.zeros(3, 5), torch.zeros(3, 5)));
        Assert.IsNotNull(final!.Cell, "an LSTM takes and returns its cell");
    }

    [TestMethod]
    [DynamicData(nameof(Layers))]
    public void AnEmptyBatchIsRefused(string name, LmuLayerOptions options)
    {
        using var layer = new LmuLayer(options);
        using var scope = NewDisposeScope();
        var e = Assert.ThrowsExactly<ArgumentException>(() => layer.ForwardLast(torch.zeros(0, 10, 1)), name);
        StringAssert.Contains(e.Message, "no rows", name);
    }

    [TestMethod]
    public void AStateThatDoesNotFitIsRefusedNamingIt()
    {
        using var layer = new LmuLayer(new LmuLayerOptions { Order = 6, Theta = 8, HiddenUnits = 5, HiddenToMemory = true });
        using var scope = NewDisposeScope();
        var x = torch.randn(3, 10, 1);
        foreach (var (state, expected) in new (LmuState, string)[]
        {
            (new LmuState(torch.zeros(3, 6, dtype: float64), torch.zeros(3, 5), null), "state.Memory is Float64"),
            (new LmuState(torch.zeros(3, 6), torch.zeros(3, 5, dtype: float64), null), "state.Hidden is Float64"),
            (new LmuState(torch.zeros(3, 6), torch.zeros(3, 7), null), "state.Hidden must be [batch = 3, 5]"),
            (new LmuState(torch.zeros(2, 6), torch.zeros(2, 5), null), "state.Memory must be [batch = 3, 6]"),
            (new LmuState(torch.zeros(3, 7), null, null), "state.Memory must be [batch = 3, 6]"),
        })
        {
            var e = Assert.ThrowsExactly<ArgumentException>(() => layer.forward(x, state), expected);
            Assert.AreEqual("state", e.ParamName);
            StringAssert.Contains(e.Message, expected);
        }
    }

    [TestMethod]
    [DynamicData(nameof(Layers))]
    public void Int32LengthsGiveTheInt64Result(string name, LmuLayerOptions options)
    {
        using var layer = new LmuLayer(options);
        using var scope = NewDisposeScope();
        var x = torch.randn(3, 10, 1, generator: new torch.Generator(3));
        var expected = layer.ForwardLast(x, torch.tensor(new long[] { 10, 4, 7 }));
        var actual = layer.ForwardLast(x, torch.tensor(new[] { 10, 4, 7 }));
        CollectionAssert.AreEqual(expected.data<float>().ToArray(), actual.data<float>().ToArray(), name);
        var e = Assert.ThrowsExactly<ArgumentException>(() => layer.ForwardLast(x, torch.tensor(new[] { 10f, 4f, 7f })), name);
        StringAssert.Contains(e.Message, "integer dtype", name);
    }
}
