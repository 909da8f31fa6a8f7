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
