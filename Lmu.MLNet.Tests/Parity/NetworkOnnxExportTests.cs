using Lmu.MLNet.Modules;
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
}
