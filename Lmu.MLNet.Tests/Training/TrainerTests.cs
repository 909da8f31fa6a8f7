using Lmu.MLNet.Modules;
using Lmu.MLNet.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Training;

/// <summary>The generic trainer on small generated tasks that need the LMU's memory to be solved.</summary>
[TestClass]
public sealed class TrainerTests
{
    /// <summary>
    /// Class = which of three patterns occupied steps 0..3, followed by 20 steps of noise: only a memory reaching back
    /// over the whole window can tell (chance = 1/3).
    /// </summary>
    internal static (Tensor X, Tensor Y) RecallTask(int rows, int seed)
    {
        var g = new torch.Generator((ulong)seed);
        var y = torch.randint(0, 3, [rows], generator: g);
        var x = torch.randn([rows, 24, 1], generator: g) * 0.3;
        var patterns = torch.tensor(new float[] { 1, 1, 1, 1, -1, -1, -1, -1, 1, -1, 1, -1 }, [3, 4]);
        x.narrow(1, 0, 4).add_(patterns.index_select(0, y).unsqueeze(2));
        return (x, y);
    }

    internal static LmuNetworkOptions SmallNetwork(int outputs = 3) => new()
    {
        Layer = new LmuLayerOptions { InputSize = 1, Order = 8, Theta = 24, HiddenCell = HiddenCell.Dense, HiddenUnits = 16 },
        OutputSize = outputs,
    };

    [TestMethod]
    public void LearnsTheRecallTaskFarAboveChance()
    {
        torch.manual_seed(0);
        var (x, y) = RecallTask(600, 1);
        var (vx, vy) = RecallTask(200, 2);
        using var net = new LmuNetwork(SmallNetwork());
        var options = new LmuTrainingOptions { Epochs = 15, BatchSize = 32, LearningRate = 0.01, Seed = 3 };
        var reports = new List<LmuEpochReport>();
        var result = LmuTrainer.Train(net, new TensorBatchSource(x, y, 32, true, 5), new TensorBatchSource(vx, vy, 100, false, 0),
            LmuLoss.CrossEntropy, options, new SynchronousProgress<LmuEpochReport>(reports.Add));
        Assert.AreEqual(15, result.History.Count);
        CollectionAssert.AreEqual(result.History.ToList(), reports);
        var last = result.History[^1];
        Assert.IsTrue(last.ValidationAccuracy > 0.9, $"validation accuracy {last.ValidationAccuracy}");
        Assert.IsTrue(last.TrainLoss < result.History[0].TrainLoss / 2, "loss did not fall");
        Assert.IsTrue(last.LearningRate < options.LearningRate * 0.05, $"cosine schedule should end near 0, got {last.LearningRate}");
    }

    [TestMethod]
    public void SameSeedGivesIdenticalWeights()
    {
        var (x, y) = RecallTask(120, 1);
        Tensor Run()
        {
            torch.manual_seed(42);
            using var net = new LmuNetwork(SmallNetwork());
            LmuTrainer.Train(net, new TensorBatchSource(x, y, 16, true, 9), null, LmuLoss.CrossEntropy,
                new LmuTrainingOptions { Epochs = 2, BatchSize = 16, Seed = 42 });
            return torch.cat(net.parameters().Select(p => p.detach().flatten()).ToArray());
        }
        var a = Run();
        var b = Run();
        Assert.IsTrue(a.equal(b).all().item<bool>(), "two runs with one seed differ");
    }

    [TestMethod]
    public void CancellationStopsWithinOneBatch()
    {
        var (x, y) = RecallTask(400, 1);
        using var cts = new CancellationTokenSource();
        var source = new CountingSource(new TensorBatchSource(x, y, 10, true, 1), cancelAfter: 3, cts);
        using var net = new LmuNetwork(SmallNetwork());
        Assert.ThrowsExactly<OperationCanceledException>(() =>
            LmuTrainer.Train(net, source, null, LmuLoss.CrossEntropy, new LmuTrainingOptions { Epochs = 5, BatchSize = 10, ScanStateBudgetMiB = 0 }, null, cts.Token));
        Assert.AreEqual(4, source.Yielded, "the trainer must stop at the first batch after cancellation");
        Assert.AreEqual(LinearScanLastFunction.DefaultKeepAllBytes, LinearScanLastFunction.KeepAllBytes, "the cancelled run's scan budget outlived it");
    }

    [TestMethod]
    public void EarlyStoppingKeepsTheBestValidationEpoch()
    {
        torch.manual_seed(1);
        var (x, y) = RecallTask(60, 1);     // tiny training set: validation loss turns up once it over-fits
        var (vx, vy) = RecallTask(200, 2);
        using var net = new LmuNetwork(SmallNetwork());
        var valid = new TensorBatchSource(vx, vy, 100, false, 0);
        var result = LmuTrainer.Train(net, new TensorBatchSource(x, y, 8, true, 1), valid, LmuLoss.CrossEntropy,
            new LmuTrainingOptions { Epochs = 40, BatchSize = 8, LearningRate = 0.03, Schedule = LearningRateSchedule.Constant, EarlyStoppingPatience = 3 });
        double best = result.History.Min(r => r.ValidationLoss!.Value);
        Assert.AreEqual(best, result.History[result.BestEpoch - 1].ValidationLoss!.Value, "BestEpoch is not the minimum");
        var (now, _) = LmuTrainer.Evaluate(net, valid, LmuLoss.CrossEntropy, torch.CPU);
        Assert.AreEqual(best, now, 1e-5, "the network does not hold the best epoch's weights");
    }

    [TestMethod]
    public void RegressionLossFalls()
    {
        torch.manual_seed(2);
        var g = new torch.Generator(3);
        var x = torch.randn([300, 16, 1], generator: g);
        var target = x.mean([1]);                                  // [300, 1]: the window mean
        using var net = new LmuNetwork(new LmuNetworkOptions
        {
            Layer = new LmuLayerOptions { InputSize = 1, Order = 6, Theta = 16, HiddenCell = HiddenCell.None },
            OutputSize = 1,
        });
        var result = LmuTrainer.Train(net, new TensorBatchSource(x, target, 30, true, 1), null, LmuLoss.MeanSquaredError,
            new LmuTrainingOptions { Epochs = 30, LearningRate = 0.02, BatchSize = 30 });
        Assert.IsNull(result.History[^1].TrainAccuracy);
        Assert.IsTrue(result.History[^1].TrainLoss < result.History[0].TrainLoss * 0.1, $"MSE {result.History[0].TrainLoss} -> {result.History[^1].TrainLoss}");
    }

    [TestMethod]
    public void BadOptionsAndDevicesAreRejected()
    {
        using var net = new LmuNetwork(SmallNetwork());
        var (x, y) = RecallTask(10, 1);
        var src = new TensorBatchSource(x, y, 5, false, 0);
        var ex = Assert.ThrowsExactly<ArgumentException>(() => LmuTrainer.Train(net, src, null, LmuLoss.CrossEntropy, new LmuTrainingOptions { Epochs = 0 }));
        Assert.AreEqual("Epochs", ex.ParamName);
        var budget = Assert.ThrowsExactly<ArgumentException>(() => LmuTrainer.Train(net, src, null, LmuLoss.CrossEntropy, new LmuTrainingOptions { ScanStateBudgetMiB = -1 }));
        Assert.AreEqual("ScanStateBudgetMiB", budget.ParamName);
        StringAssert.Contains(budget.Message, "-1");
        Assert.ThrowsExactly<ArgumentException>(() => LmuTrainer.ResolveDevice("tpu"));
        if (!torch.cuda.is_available())
        {
            var cuda = Assert.ThrowsExactly<InvalidOperationException>(() => LmuTrainer.ResolveDevice("cuda"));
            StringAssert.Contains(cuda.Message, "CUDA is not available");
        }
    }

    [TestMethod]
    public void ScanStateBudgetDecidesBetweenKeepingAndRecomputingWithoutChangingTheTraining()
    {
        // A fully recurrent cell read at the last step (the two-stage scan) over 40 steps: past one checkpoint interval
        // (8), so a budget of 0 recomputes from checkpoints while the default keeps every state (40 x 16 x 24 floats).
        var g = new torch.Generator(5);
        var x = torch.randn([64, 40, 1], generator: g);
        var y = torch.randint(0, 3, [64], generator: g);
        var network = new LmuNetworkOptions
        {
            Layer = new LmuLayerOptions
            {
                InputSize = 1, Order = 8, Theta = 40, HiddenCell = HiddenCell.SimpleRnn, HiddenUnits = 16,
                HiddenToMemory = true, MemoryToMemory = true,
            },
            OutputSize = 3,
        };
        long defaultBytes = LinearScanLastFunction.KeepAllBytes;
        Tensor Weights(LmuNetwork net) => torch.cat(net.parameters().Select(p => p.detach().flatten()).ToArray());
        (Tensor Initial, Tensor Weights, long Checkpointed) Run(int budgetMiB)
        {
            torch.manual_seed(7);
            using var net = new LmuNetwork(network);
            var initial = Weights(net).clone();
            long before = TwoStageScanLastFunction.CheckpointedPasses;
            LmuTrainer.Train(net, new TensorBatchSource(x, y, 16, true, 3), null, LmuLoss.CrossEntropy,
                new LmuTrainingOptions { Epochs = 2, BatchSize = 16, Seed = 7, ScanStateBudgetMiB = budgetMiB });
            return (initial, Weights(net).clone(), TwoStageScanLastFunction.CheckpointedPasses - before);
        }

        var kept = Run(1024);
        var recomputed = Run(0);
        Assert.AreEqual(0, kept.Checkpointed, "the default budget recomputed states that fit");
        Assert.AreEqual(8, recomputed.Checkpointed, "a budget of 0 must recompute in each of the 8 training steps");
        Assert.AreEqual(defaultBytes, LinearScanLastFunction.KeepAllBytes, "the budget must not outlive the training run");
        // Same seed, same batches: the recomputed states are the kept ones up to rounding (float32, after 8 Adam steps).
        double diff = (kept.Weights - recomputed.Weights).abs().max().item<float>();
        Assert.IsTrue(diff < 1e-5, $"weights differ by {diff:E2} between keeping and recomputing the states");
        Assert.IsTrue((kept.Weights - kept.Initial).abs().max().item<float>() > 1e-3, "training moved nothing: the comparison cannot tell");
        Assert.IsTrue(kept.Initial.equal(recomputed.Initial).all().item<bool>(), "the two runs did not start from the same weights");
    }

    [TestMethod]
    public void ConcurrentRunsEachSeeTheirOwnScanBudget()
    {
        // Two runs at once on two threads, each reading the budget the scans would see from its progress callback (called
        // inside Train); the barrier makes the second epoch of each start only when both have finished their first.
        var (x, y) = RecallTask(40, 1);
        using var barrier = new Barrier(2);
        var seen = new long[2][];
        var threads = Enumerable.Range(0, 2).Select(i => new Thread(() =>
        {
            using var net = new LmuNetwork(SmallNetwork());
            var budgets = new List<long>();
            LmuTrainer.Train(net, new TensorBatchSource(x, y, 20, false, 0), null, LmuLoss.CrossEntropy,
                new LmuTrainingOptions { Epochs = 3, BatchSize = 20, ScanStateBudgetMiB = 3 + i },
                new SynchronousProgress<LmuEpochReport>(_ =>
                {
                    budgets.Add(LinearScanLastFunction.KeepAllBytes);
                    barrier.SignalAndWait(TimeSpan.FromMinutes(1));
                }));
            seen[i] = budgets.ToArray();
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        CollectionAssert.AreEqual(new long[] { 3L << 20, 3L << 20, 3L << 20 }, seen[0], "run 0 saw another budget");
        CollectionAssert.AreEqual(new long[] { 4L << 20, 4L << 20, 4L << 20 }, seen[1], "run 1 saw another budget");
        Assert.AreEqual(LinearScanLastFunction.DefaultKeepAllBytes, LinearScanLastFunction.KeepAllBytes, "a run's budget leaked into this thread");
    }

    /// <summary>Counts yielded batches and cancels after a number of them.</summary>
    private sealed class CountingSource(ILmuBatchSource inner, int cancelAfter, CancellationTokenSource cts) : ILmuBatchSource
    {
        public int Yielded { get; private set; }

        public IEnumerable<LmuBatch> Batches(int epoch)
        {
            foreach (var b in inner.Batches(epoch))
            {
                Yielded++;
                if (Yielded > cancelAfter) cts.Cancel();
                yield return b;
            }
        }
    }
}

/// <summary>IProgress that reports on the calling thread (Progress&lt;T&gt; posts to the thread pool).</summary>
internal sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
