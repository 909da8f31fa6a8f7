using Lmu.MLNet.Modules;
using Lmu.MLNet.Onnx;
using Lmu.MLNet.Tests.Infrastructure;
using Lmu.MLNet.Tests.Onnx;
using Lmu.MLNet.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Parity;

/// <summary>
/// A network built and trained with the TorchSharp API exports through the public <see cref="LmuNetworkOnnx"/> (QA: a
/// user-built network had no way to ONNX, so it could not be deployed without libtorch). ONNX Runtime equals
/// <c>forward</c> within 1e-4 (float32 over T = 24 steps; the graphs are the carried ones, held to 1e-4 elsewhere).
/// </summary>
[TestClass]
public sealed class NetworkOnnxExportTests
{
    private const int Steps = 24;

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void ATrainedUserBuiltStackScoresInOnnxRuntimeAsInTorch(bool lengthInput)
    {
        using var scope = NewDisposeScope();
        var (x, y) = Training.TrainerTests.RecallTask(96, 3);
        using var net = new LmuNetwork(new LmuNetworkOptions
        {
            Layers =
            [
                new LmuLayerOptions { InputSize = 1, Order = 8, Theta = Steps, HiddenCell = HiddenCell.Dense, HiddenUnits = 6, TrainableTheta = true },
                new LmuLayerOptions { InputSize = 6, Order = 6, Theta = Steps, HiddenCell = HiddenCell.SimpleRnn, HiddenUnits = 5, HiddenToMemory = true },
            ],
            OutputSize = 3,
        });
        LmuTrainer.Train(net, new TensorBatchSource(x, y, 32, true, 1), null, LmuLoss.CrossEntropy, new LmuTrainingOptions { Epochs = 3, BatchSize = 32, Seed = 2 });
        long[] lengths = [Steps, 3, 11, 17, 24, 1];
        var rows = x.narrow(0, 0, lengths.Length);
        using var lengthTensor = torch.tensor(lengths);
        Tensor expected;
        using (torch.no_grad()) expected = lengthInput ? net.forward(rows, lengthTensor) : net.forward(rows);

        var path = Path.Combine(Path.GetTempPath(), $"lmu-net-{Guid.NewGuid():N}.onnx");
        try
        {
            net.ExportOnnx(path, Steps, lengthInput);
            var bytes = File.ReadAllBytes(path);
            CollectionAssert.AreEqual(net.ToOnnx(Steps, lengthInput), bytes, "the file holds ToOnnx's bytes");
            var flat = rows.reshape(lengths.Length, -1).data<float>().ToArray();
            var actual = lengthInput
                ? OnnxRunner.RunWithLengths(bytes, LmuNetworkOnnx.InputName, flat, Steps, LmuNetworkOnnx.LengthName, lengths, LmuNetworkOnnx.OutputName)
                : OnnxRunner.Run(bytes, LmuNetworkOnnx.InputName, flat, Steps, LmuNetworkOnnx.OutputName)[LmuNetworkOnnx.OutputName];
            var torchValues = expected.data<float>().ToArray();
            Assert.HasCount(torchValues.Length, actual);
            Bound.Below(1e-4, torchValues.Zip(actual, (a, b) => Math.Abs(a - b)).Max(), "max |torch - ONNX Runtime|");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void ASequenceLengthBelowOneIsRefused()
    {
        using var net = new LmuNetwork(Training.TrainerTests.SmallNetwork());
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => net.ToOnnx(0));
    }

    [TestMethod]
    [DataRow(HiddenCell.None)]
    [DataRow(HiddenCell.SimpleRnn)]
    public void ASequenceLengthNoModelCanHoldIsRefusedInTheOptionsTerms(HiddenCell cell)
    {
        // Overflowed in the writer's size arithmetic ("Arithmetic operation resulted in an overflow"; found by QA).
        using var net = new LmuNetwork(new LmuNetworkOptions { Layer = new LmuLayerOptions { Order = 6, Theta = 8, HiddenCell = cell, HiddenUnits = 4 }, OutputSize = 2 });
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => net.ToOnnx(int.MaxValue));
        Assert.AreEqual("sequenceLength", e.ParamName);
        StringAssert.Contains(e.Message, $"{int.MaxValue} steps");
        var path = Path.Combine(Path.GetTempPath(), $"lmu-net-{Guid.NewGuid():N}.onnx");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => net.ExportOnnx(path, int.MaxValue));
        Assert.IsFalse(File.Exists(path), "nothing written");
    }

    [TestMethod]
    public void AResponseJustPastTheModelLimitIsRefusedBeforeItIsComputed()
    {
        // QA: order 8 over 67 million steps was computed first (35-238 s, 6.3-6.6 GB) and then failed with
        // "Array dimensions exceeded supported range", an out-of-memory error that said nothing of the model's size.
        // 70,000,000 x 8 float32 values are 2.24 GB; computing them in float64 would take 4.5 GB, so this test also
        // fails by memory without the check made before.
        using var net = new LmuNetwork(new LmuNetworkOptions { Layer = new LmuLayerOptions { Order = 8, Theta = 8, HiddenCell = HiddenCell.None }, OutputSize = 2 });
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => net.ToOnnx(70_000_000));
        StringAssert.Contains(e.Message, "The memory's impulse response over 70,000,000 steps x order 8 takes 2,240,000,000 bytes as float32, more than an ONNX model holds");
    }

    [TestMethod]
    public void TheWriterRefusesWeightsPastItsBoundCountingSubgraphs()
    {
        var g = new OnnxGraphBuilder("main");
        var outer = g.Floats("a", new float[100], 100);
        var body = g.Subgraph("body");
        body.Floats("b", new float[100], 100);
        g.Op("Scan", [outer], OnnxAttribute.Graph("body", body.Graph));
        Assert.AreEqual(800L, OnnxModelWriter.InitializerBytes(g.Graph), "400 bytes in the graph and 400 in the Scan body");
        var e = Assert.ThrowsExactly<OverflowException>(() => OnnxModelWriter.Write(g.Graph, maxInitializerBytes: 799));
        Assert.AreEqual("The ONNX graph's weights and tables take 800 bytes, more than an ONNX model holds (799 bytes, about 2 GiB).", e.Message);
        Assert.IsNotEmpty(OnnxModelWriter.Write(g.Graph, maxInitializerBytes: 800));
    }
}
