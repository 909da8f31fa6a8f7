using System.Runtime.InteropServices;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Reliability;

/// <summary>
/// An exception inside one of the LMU's own backward passes must reach the caller of backward() as an exception, not
/// end the process (TorchSharp calls a custom backward from libtorch's native frames and does not catch there: before
/// GuardedFunction, a failed allocation in a backward pass aborted the test host, as it would an ML.NET service). Each
/// custom function is made to fail through a layer that uses it; the test host surviving to the assertions is half of
/// each test.
/// </summary>
[TestClass]
public sealed class BackwardFailureTests
{
    [TestMethod]
    public void DenseLastStepFailureIsAnException()
        => FailsAndRecovers<DenseLastFunction>(Layer(HiddenCell.Dense, recurrent: false, LmuExecutionMode.Parallel), sequence: false,
            () => DenseLastFunction.FailBackwardWith = "injected dense", () => DenseLastFunction.FailBackwardWith = null, "injected dense");

    [TestMethod]
    public void RecurrentCellFailureIsAnException()
        => FailsAndRecovers<TwoStageScanLastFunction>(Layer(HiddenCell.SimpleRnn, recurrent: true, LmuExecutionMode.FusedScan), sequence: false,
            () => TwoStageScanLastFunction.FailBackwardWith = "injected two-stage", () => TwoStageScanLastFunction.FailBackwardWith = null, "injected two-stage");

    [TestMethod]
    public void LastStepScanFailureIsAnException()
        => FailsAndRecovers<LinearScanLastFunction>(Layer(HiddenCell.SimpleRnn, recurrent: false, LmuExecutionMode.Parallel), sequence: false,
            () => LinearScanLastFunction.FailBackwardWith = "injected last scan", () => LinearScanLastFunction.FailBackwardWith = null, "injected last scan");

    [TestMethod]
    public void SequenceScanFailureIsAnException()
        => FailsAndRecovers<LinearScanFunction>(Layer(HiddenCell.SimpleRnn, recurrent: false, LmuExecutionMode.Parallel), sequence: true,
            () => LinearScanFunction.FailBackwardWith = "injected scan", () => LinearScanFunction.FailBackwardWith = null, "injected scan");

    [TestMethod]
    public void TheTrainerReportsTheCause()
    {
        var (net, x, y) = TrainingCase(recurrent: true, rows: 12, classes: 3);
        using var _ = net;
        using var __ = x;
        using var ___ = y;
        TwoStageScanLastFunction.FailBackwardWith = "no memory left (injected)";
        InvalidOperationException? thrown = null;
        try
        {
            LmuTrainer.Train(net, new TensorBatchSource(x, y, 4, false, 1), null, LmuLoss.CrossEntropy, new LmuTrainingOptions { Epochs = 1, LearningRate = 0.01, Seed = 1 });
        }
        catch (InvalidOperationException e)
        {
            thrown = e;
        }
        finally
        {
            TwoStageScanLastFunction.FailBackwardWith = null;
        }

        Assert.IsNotNull(thrown, "training must fail with an exception");
        StringAssert.Contains(thrown.Message, "backward pass at epoch 1, batch 1");
        StringAssert.Contains(thrown.Message, "no memory left (injected)");
        Assert.AreEqual("no memory left (injected)", thrown.InnerException?.Message);
        Assert.IsNull(BackwardFailures.Take(), "the trainer took the failure it reported");

        // The same network trains afterwards.
        var result = LmuTrainer.Train(net, new TensorBatchSource(x, y, 4, false, 1), null, LmuLoss.CrossEntropy, new LmuTrainingOptions { Epochs = 1, LearningRate = 0.01, Seed = 1 });
        Assert.IsTrue(double.IsFinite(result.History[^1].TrainLoss));
    }

    [TestMethod]
    public void AFailureIsNotSwallowedWhereEveryGradientHasOneElement()
    {
        // One unit, a frozen kernel and a trainable [1] bias: the only gradient the failure path returns is for a
        // one-element input, for which libtorch accepted a [0] CPU tensor (summed to a zero gradient, no exception).
        using var scope = NewDisposeScope();
        var y = torch.randn(3, 4);
        var weight = torch.randn(1, 4);
        var bias = torch.zeros(1).requires_grad_();
        DenseLastFunction.FailBackwardWith = "injected one-element";
        ExternalException? thrown = null;
        try
        {
            DenseLastFunction.Apply(y, null, weight, bias, null, LmuActivation.Tanh).sum().backward();
        }
        catch (ExternalException e)
        {
            thrown = e;
        }
        finally
        {
            DenseLastFunction.FailBackwardWith = null;
        }

        Assert.IsNotNull(thrown, "backward() must throw, not leave a zero gradient");
        Assert.AreEqual("injected one-element", BackwardFailures.Take()?.Message);
    }

    [TestMethod]
    public void AnotherThreadsFailureIsNotThisOnes()
    {
        var other = new Thread(() => BackwardFailures.Record(new InvalidOperationException("another trainer's")));
        other.Start();
        other.Join();
        Assert.IsNull(BackwardFailures.Take(), "on the CPU only this thread's failure is this thread's");
        Assert.AreEqual("another trainer's", BackwardFailures.Take(anyThread: true)?.Message, "an engine with threads of its own reads any");
    }

    [TestMethod]
    public void AStaleFailureDoesNotOutliveTheNextTrainingStep()
    {
        BackwardFailures.Record(new InvalidOperationException("stale"));
        var (net, x, y) = TrainingCase(recurrent: false, rows: 8, classes: 2);
        using var _ = net;
        using var __ = x;
        using var ___ = y;
        var result = LmuTrainer.Train(net, new TensorBatchSource(x, y, 4, false, 1), null, LmuLoss.CrossEntropy, new LmuTrainingOptions { Epochs = 1, LearningRate = 0.01, Seed = 1 });
        Assert.IsTrue(double.IsFinite(result.History[^1].TrainLoss), "training is not failed by a failure kept before it");
        Assert.IsNull(BackwardFailures.Take(), "and that failure is gone, not left to be reported against a later one");
    }

    private static void FailsAndRecovers<T>(LmuLayer layer, bool sequence, Action fail, Action recover, string message)
    {
        using (layer)
        {
            var x = torch.randn([6, 24, 1], generator: new torch.Generator(3));
            Tensor Run() => sequence ? layer.forward(x) : layer.ForwardLast(x);
            fail();
            ExternalException? thrown = null;
            try
            {
                using var scope = NewDisposeScope();
                Run().sum().backward();
            }
            catch (ExternalException e)
            {
                thrown = e;
            }
            finally
            {
                recover();
            }

            Assert.IsNotNull(thrown, $"{typeof(T).Name}: backward() must throw");
            var cause = BackwardFailures.Take();
            Assert.IsNotNull(cause, $"{typeof(T).Name}: the cause must be kept");
            Assert.AreEqual(message, cause.Message);
            Assert.IsNull(BackwardFailures.Take(), "taken once");

            // Nothing is left broken: the next backward pass gives every parameter a finite gradient.
            layer.zero_grad();
            using (var scope = NewDisposeScope()) Run().sum().backward();
            foreach (var (name, p) in layer.named_parameters())
            {
                if (!p.requires_grad) continue;
                Assert.IsNotNull(p.grad, $"{typeof(T).Name}: no gradient for {name} after the failure");
                Assert.IsTrue(p.grad.isfinite().all().item<bool>(), $"{typeof(T).Name}: {name}'s gradient is not finite");
            }
        }
    }

    /// <summary>A SimpleRnn network and a random batch of 20-step rows for the trainer; the caller disposes all three.</summary>
    private static (LmuNetwork Net, Tensor X, Tensor Y) TrainingCase(bool recurrent, int rows, int classes)
    {
        torch.manual_seed(5);
        var net = new LmuNetwork(new LmuNetworkOptions { Layer = LayerOptions(HiddenCell.SimpleRnn, recurrent, LmuExecutionMode.Auto), OutputSize = classes });
        var g = new torch.Generator(6);
        return (net, torch.randn([rows, 20, 1], generator: g), torch.randint(0, classes, [rows], dtype: int64, generator: g));
    }

    private static LmuLayer Layer(HiddenCell cell, bool recurrent, LmuExecutionMode mode)
    {
        torch.manual_seed(4);
        return new LmuLayer(LayerOptions(cell, recurrent, mode));
    }

    private static LmuLayerOptions LayerOptions(HiddenCell cell, bool recurrent, LmuExecutionMode mode) => new()
    {
        InputSize = 1, MemoryD = 1, Order = 8, Theta = 24, HiddenCell = cell, HiddenUnits = 6, InputToHidden = true,
        HiddenToMemory = recurrent, MemoryToMemory = recurrent, ExecutionMode = mode,
    };
}
