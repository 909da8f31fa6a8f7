using Lmu.MLNet.Maths;
using Lmu.MLNet.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Modules;

/// <summary>Every bad argument throws an ArgumentException naming the parameter and the offending value.</summary>
[TestClass]
public sealed class ValidationTests
{
    public static IEnumerable<object[]> BadOptions()
    {
        yield return [new LmuLayerOptions { Order = 0 }, "Order", "0"];
        yield return [new LmuLayerOptions { Theta = 0 }, "Theta", "0"];
        yield return [new LmuLayerOptions { Theta = -3 }, "Theta", "-3"];
        yield return [new LmuLayerOptions { Theta = double.NaN }, "Theta", "NaN"];
        yield return [new LmuLayerOptions { Discretizer = (LmuDiscretizer)7 }, "Discretizer", "7"];
        yield return [new LmuLayerOptions { HiddenCell = HiddenCell.None, HiddenToMemory = true }, "HiddenToMemory", "True"];
        yield return [new LmuLayerOptions { InputSize = 3, MemoryD = 1, UseInputEncoder = false }, "UseInputEncoder", "InputSize is 3"];
        yield return [new LmuLayerOptions { MemoryD = 0 }, "MemoryD", "0"];
        yield return [new LmuLayerOptions { HiddenUnits = 0 }, "HiddenUnits", "0"];
        yield return [new LmuLayerOptions { Dropout = 1.5 }, "Dropout", "1.5"];
        yield return [new LmuLayerOptions { MemoryToMemory = true, ExecutionMode = LmuExecutionMode.Parallel }, "ExecutionMode", "Parallel"];
        // Refused when the layer is built (QA: at the first training pass, naming no option).
        yield return [new LmuLayerOptions { HiddenCell = HiddenCell.Lstm, MemoryToMemory = true, ExecutionMode = LmuExecutionMode.FusedScan }, "ExecutionMode", "HiddenCell is Lstm"];
        yield return [new LmuLayerOptions { HiddenCell = HiddenCell.Gru, ExecutionMode = LmuExecutionMode.FusedScan }, "ExecutionMode", "HiddenCell is Gru"];
        yield return [new LmuLayerOptions { HiddenToMemory = true, RecurrentDropout = 0.2, ExecutionMode = LmuExecutionMode.FusedScan }, "ExecutionMode", "RecurrentDropout (0.2)"];
        yield return [new LmuLayerOptions { MemoryD = 2_000_000, Order = 1000 }, "Order", "too large a memory"];
    }

    [TestMethod]
    public void PublicConstructorsRefuseWhatTheOptionsWould()
    {
        // Found by QA: learned dynamics took theta -1 or NaN (a NaN response), a cell of 0 units failed in libtorch.
        foreach (var theta in new[] { -1.0, double.NaN, 0.0, double.PositiveInfinity })
        {
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new LegendreDynamics(6, theta, LmuDiscretizer.Zoh, trainableTheta: true));
            Assert.AreEqual("theta", e.ParamName);
        }

        Assert.AreEqual("method", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new LegendreDynamics(6, 10, (LmuDiscretizer)7, true, true, false)).ParamName);
        Assert.AreEqual("order", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new LegendreDynamics(0, 10, LmuDiscretizer.Zoh, true)).ParamName);
        Assert.AreEqual("units", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new HiddenCellModule(HiddenCell.Dense, 3, 0, LmuActivation.Tanh)).ParamName);
        Assert.AreEqual("inputSize", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new HiddenCellModule(HiddenCell.Lstm, 0, 4, LmuActivation.Tanh)).ParamName);
    }

    [TestMethod]
    public void AnImpulseResponseLongerThanItCanHoldIsRefused()
    {
        // Found by QA: 2^32 + 10 was cut to 10 rows (fixed dynamics); learned A doubled 1e11 rows until the process died.
        using var fixedDynamics = new LegendreDynamics(8, 16, LmuDiscretizer.Zoh, trainableTheta: false);
        using var learned = new LegendreDynamics(8, 16, LmuDiscretizer.Zoh, false, trainableA: true, trainableB: false);
        foreach (var dynamics in new[] { fixedDynamics, learned })
        {
            foreach (var length in new[] { 4294967306L, 100_000_000_000L, 0L })
            {
                var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => dynamics.ImpulseResponse(length, float32, torch.CPU));
                Assert.AreEqual("length", e.ParamName);
            }
        }
    }

    [TestMethod]
    public void AMaskHoldsOnlyZerosAndOnes()
    {
        // A float mask of 0.5 was truncated to 0 (found by QA).
        using var scope = NewDisposeScope();
        var e = Assert.ThrowsExactly<ArgumentException>(() => LmuLayer.LengthsFromMask(torch.tensor(new[] { 1f, 0.5f, 0f, 1f, 1f, 0f }, [2, 3])));
        StringAssert.Contains(e.Message, "only 0 and 1");
        CollectionAssert.AreEqual(new long[] { 2, 3 }, LmuLayer.LengthsFromMask(torch.tensor(new[] { true, true, false, true, true, true }, [2, 3])).data<long>().ToArray());
        CollectionAssert.AreEqual(new long[] { 1, 3 }, LmuLayer.LengthsFromMask(torch.tensor(new[] { 1f, 0f, 0f, 1f, 1f, 1f }, [2, 3])).data<long>().ToArray());
    }

    [TestMethod]
    public void AStacksLayerErrorNamesTheParameterOnce()
    {
        var options = new LmuNetworkOptions { OutputSize = 2, Layers = [new LmuLayerOptions(), new LmuLayerOptions { InputSize = 64, Theta = -1 }] };
        var e = Assert.ThrowsExactly<ArgumentException>(options.Validate);
        Assert.AreEqual("Layers[1].Theta", e.ParamName);
        Assert.AreEqual(1, e.Message.Split("(Parameter").Length - 1, e.Message);
    }

    [TestMethod]
    [DynamicData(nameof(BadOptions))]
    public void BadOptionsThrowNamingParameterAndValue(LmuLayerOptions options, string parameter, string value)
    {
        var ex = Assert.ThrowsExactly<ArgumentException>(() => new LmuLayer(options));
        Assert.AreEqual(parameter, ex.ParamName);
        StringAssert.Contains(ex.Message, value);
    }

    [TestMethod]
    public void BadInputShapesThrow()
    {
        using var layer = new LmuLayer(new LmuLayerOptions { InputSize = 2, Order = 4, Theta = 4 });
        var rank2 = Assert.ThrowsExactly<ArgumentException>(() => layer.forward(torch.zeros(3, 5)));
        Assert.AreEqual("x", rank2.ParamName);
        StringAssert.Contains(rank2.Message, "rank 2");
        var width = Assert.ThrowsExactly<ArgumentException>(() => layer.forward(torch.zeros(3, 5, 4)));
        StringAssert.Contains(width.Message, "4 channels");
        var lengths = Assert.ThrowsExactly<ArgumentException>(() => layer.ForwardLast(torch.zeros(2, 5, 2), torch.tensor(new long[] { 6, 1 })));
        Assert.AreEqual("lengths", lengths.ParamName);
        StringAssert.Contains(lengths.Message, "6");
    }
}
