using Lmu.MLNet.Classification;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Tests.MLNet.Classification;
using Lmu.MLNet.Training;
using Microsoft.ML;
using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Training;

/// <summary>
/// What the trainer and the options did with inputs QA found mishandled: targets the loss misread, a float64 network,
/// a diverged run that stepped on its NaN loss, a read of Layer that refused Layers, overlapping Fits that left torch's
/// thread count changed, and a BatchSize larger than any buffer.
/// </summary>
[TestClass]
public sealed class TrainerFailureTests : ClassifierTestBase
{
    private static LmuNetworkOptions Regression() => new()
    {
        Layer = new LmuLayerOptions { InputSize = 1, Order = 6, Theta = 16, HiddenCell = HiddenCell.None },
        OutputSize = 1,
    };

    private static float[] Weights(LmuNetwork net) => net.parameters().SelectMany(p => p.detach().cpu().to(float32).data<float>().ToArray()).ToArray();

    [TestMethod]
    public void ARegressionTargetOfAnotherShapeIsRefusedBeforeAnyStep()
    {
        // [N] against an output of [N, 1] broadcast to [N, N]: the network learned nothing, with a libtorch warning only.
        using var scope = NewDisposeScope();
        var x = torch.randn([64, 16, 1], generator: new torch.Generator(1));
        using var net = new LmuNetwork(Regression());
        var before = Weights(net);
        foreach (var loss in new[] { LmuLoss.MeanSquaredError, LmuLoss.MeanAbsoluteError })
        {
            var e = Assert.ThrowsExactly<ArgumentException>(() => LmuTrainer.Train(
                net, new TensorBatchSource(x, x.mean([1, 2]), 16, false, 1), null, loss, new LmuTrainingOptions { Epochs = 1, BatchSize = 16 }));
            Assert.AreEqual("target", e.ParamName);
            StringAssert.Contains(e.Message, "Float32 [16, 1]");
            StringAssert.Contains(e.Message, "got Float32 [16]");
        }

        CollectionAssert.AreEqual(before, Weights(net), "no step was taken");
    }

    [TestMethod]
    public void ACrossEntropyTargetMustBeInt64ClassIndices()
    {
        using var scope = NewDisposeScope();
        var (x, y) = TrainerTests.RecallTask(32, 1);
        using var net = new LmuNetwork(TrainerTests.SmallNetwork());
        var e = Assert.ThrowsExactly<ArgumentException>(() => LmuTrainer.Train(
            net, new TensorBatchSource(x, y.to(int32), 16, false, 1), null, LmuLoss.CrossEntropy, new LmuTrainingOptions { Epochs = 1, BatchSize = 16 }));
        StringAssert.Contains(e.Message, "int64 class indices [batch = 16]; got Int32 [16]");
    }

    [TestMethod]
    public void ACrossEntropyClassIndexOutsideTheOutputsIsRefusedBeforeAnyStep()
    {
        // An index at or above OutputSize, or below 0, failed inside libtorch's loss naming neither.
        using var scope = NewDisposeScope();
        var (x, y) = TrainerTests.RecallTask(32, 1);
        using var net = new LmuNetwork(TrainerTests.SmallNetwork());
        var before = Weights(net);
        long classes = net.Options.OutputSize;
        foreach (var (bad, text) in new[] { (classes, $"from 0 to {classes}"), (-1L, "from -1 to") })
        {
            var target = y.clone();
            target[5] = torch.tensor(bad);
            var e = Assert.ThrowsExactly<ArgumentException>(() => LmuTrainer.Train(
                net, new TensorBatchSource(x, target, 16, false, 1), null, LmuLoss.CrossEntropy, new LmuTrainingOptions { Epochs = 1, BatchSize = 16 }));
            Assert.AreEqual("target", e.ParamName);
            StringAssert.Contains(e.Message, $"[0, OutputSize = {classes})");
            StringAssert.Contains(e.Message, text);
        }

        CollectionAssert.AreEqual(before, Weights(net), "no step was taken");
    }

    [TestMethod]
    public void AZeroDimensionalTargetIsRefusedByTheBatchSource()
    {
        using var scope = NewDisposeScope();
        var x = torch.randn(4, 8, 1);
        var e = Assert.ThrowsExactly<ArgumentException>(() => new TensorBatchSource(x, torch.tensor(1L), 2, false, 1));
        Assert.AreEqual("target", e.ParamName);
        StringAssert.Contains(e.Message, "0-d");
        e = Assert.ThrowsExactly<ArgumentException>(() => new TensorBatchSource(x, torch.zeros(4, dtype: int64), 2, false, 1, torch.ones(4, 1, dtype: int64)));
        Assert.AreEqual("lengths", e.ParamName);
    }

    [TestMethod]
    public void AFloat64NetworkTrainsOnFloat64Data()
    {
        // item<float> refused a float64 loss after the first step had already changed the weights.
        using var scope = NewDisposeScope();
        var x = torch.randn([120, 16, 1], dtype: float64, generator: new torch.Generator(3));
        var target = x.mean([1]);
        using var net = new LmuNetwork(Regression());
        net.to(float64);
        var result = LmuTrainer.Train(net, new TensorBatchSource(x, target, 30, true, 1), null, LmuLoss.MeanSquaredError,
            new LmuTrainingOptions { Epochs = 20, LearningRate = 0.02, BatchSize = 30 });
        Bound.Below(result.History[0].TrainLoss * 0.5, result.History[^1].TrainLoss, "the float64 network learned");
    }

    [TestMethod]
    public void ADivergedRunLeavesTheLastFiniteWeightsAndEvalMode()
    {
        // The step ran before the loss was checked, so every weight became NaN.
        using var scope = NewDisposeScope();
        var x = torch.randn([32, 16, 1], generator: new torch.Generator(4));
        x[0, 3, 0] = torch.tensor(float.PositiveInfinity);
        using var net = new LmuNetwork(Regression());
        var before = Weights(net);
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => LmuTrainer.Train(
            net, new TensorBatchSource(x, x.nan_to_num().mean([1]), 32, false, 1), null, LmuLoss.MeanSquaredError, new LmuTrainingOptions { Epochs = 2, BatchSize = 32 }));
        StringAssert.Contains(e.Message, "Training diverged");
        CollectionAssert.AreEqual(before, Weights(net), "the non-finite loss was not stepped on");
        Assert.IsFalse(net.training, "left in eval mode, as a finished run");
    }

    [TestMethod]
    public void ReadingLayerBeforeSettingLayersIsNotUsingBoth()
    {
        // Found by QA: reading Layer (to clone its defaults) made a later Layers assignment refused.
        var classifier = new LmuClassifierOptions();
        var first = classifier.Layer.Clone();
        classifier.Layers = [first, new LmuLayerOptions { Order = 8 }];
        classifier.Validate();
        var network = new LmuNetworkOptions { OutputSize = 3 };
        _ = network.Layer.Order;
        network.Layers = [new LmuLayerOptions(), new LmuLayerOptions { Order = 8, InputSize = 64 }];
        network.Validate();

        // An edit through the getter is still using Layer: the edit would be lost.
        var edited = new LmuClassifierOptions();
        edited.Layer.Order = 12;
        edited.Layers = [new LmuLayerOptions(), new LmuLayerOptions()];
        var e = Assert.ThrowsExactly<ArgumentException>(edited.Validate);
        StringAssert.Contains(e.Message, "Layer are both used");
    }

    [TestMethod]
    public void EveryLayerSettingIsAValue()
    {
        // The "Layer was edited" check compares settings with Equals: a reference-typed setting would always differ from
        // a new instance's and refuse every Layers (found by review). A new one must keep that check right.
        var settings = typeof(LmuLayerOptions).GetProperties().Where(p => p.CanRead && p.CanWrite).ToList();
        Assert.IsGreaterThan(20, settings.Count);
        foreach (var p in settings)
        {
            Assert.IsTrue(p.PropertyType.IsValueType || p.PropertyType == typeof(string), $"{p.Name} is {p.PropertyType}");
        }
    }

    [TestMethod]
    public void OverlappingFitsRestoreTorchsThreadCount()
    {
        // Each Fit saved and restored the count on its own, so A(save 2, set 1), B(save 1), A(restore 2), B(restore 1)
        // left 1 (found by QA after 4 concurrent Fits).
        var original = torch.get_num_threads();
        try
        {
            torch.set_num_threads(2);
            var a = TorchThreadCount.Use(1);
            var b = TorchThreadCount.Use(1);
            Assert.AreEqual(1, torch.get_num_threads());
            a.Dispose();
            Assert.AreEqual(1, torch.get_num_threads(), "B still runs");
            b.Dispose();
            Assert.AreEqual(2, torch.get_num_threads());
            b.Dispose();
            Assert.AreEqual(2, torch.get_num_threads(), "a second Dispose changes nothing");
        }
        finally
        {
            torch.set_num_threads(original);
        }
    }

    [TestMethod]
    public void ABatchSizeLargerThanAnyBufferTrainsOnAllRows()
    {
        // An OverflowException from the batch buffer's size on 30 rows (found by QA).
        var ml = ClassifierSetup.Context(MlTemp);
        var (train, _) = ClassifierSetup.Keyed(ml, ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(30, 1)));
        var options = ClassifierSetup.Parallel(epochs: 2);
        options.Training.BatchSize = int.MaxValue;
        using var model = ml.MulticlassClassification.Trainers.Lmu(options).Fit(train);
        Assert.HasCount(2, model.Info.History);
    }
}
