using Lmu.MLNet.Modules;
using Lmu.MLNet.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Experiments;

/// <summary>Trains one configuration on some rows and scores it on others.</summary>
internal static class LmuTrialRunner
{
    /// <summary>Trains a new network on <paramref name="device"/> (resolved by the caller); the caller owns (disposes) it.</summary>
    public static LmuNetwork Train(
        LmuExperimentData data, IReadOnlyList<int> rows, LmuTrialConfiguration config, int epochs, int seed, LmuExperimentSettings settings, string device,
        CancellationToken ct)
    {
        // Initial values from a generator of the trial's seed (TrainingRandom.NewNetwork), not torch's global one.
        var network = TrainingRandom.NewNetwork(config.NetworkOptions(data.Channels, data.ClassNames.Count), seed);
        try
        {
            var (x, y) = data.Tensors(rows);
            using (x)
            using (y)
            {
                var source = new TensorBatchSource(x, y, Math.Min(settings.BatchSize, rows.Count), shuffle: true, seed);
                LmuTrainer.Train(network, source, null, LmuLoss.CrossEntropy, new LmuTrainingOptions
                {
                    Epochs = epochs,
                    BatchSize = settings.BatchSize,
                    LearningRate = config.LearningRate,
                    Seed = seed,
                    Device = device,
                    ScanStateBudgetMiB = settings.ScanStateBudgetMiB,
                }, null, ct, seedsTorch: false);
            }

            network.to(torch.CPU);
            network.eval();
            return network;
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>The metric of <paramref name="network"/> on <paramref name="rows"/>.</summary>
    public static double Score(LmuNetwork network, LmuExperimentData data, IReadOnlyList<int> rows, LmuExperimentMetric metric)
        => Metric(Probabilities(network, data, rows), rows.Select(r => data.Labels[r]).ToArray(), data.ClassNames.Count, metric);

    /// <summary>The network's class probabilities for <paramref name="rows"/>, row-major [rows, classes].</summary>
    public static float[] Probabilities(LmuNetwork network, LmuExperimentData data, IReadOnlyList<int> rows)
    {
        var classes = data.ClassNames.Count;
        var probabilities = new float[rows.Count * classes];
        using (torch.no_grad())
        {
            for (var start = 0; start < rows.Count; start += 256)
            {
                var chunk = rows.Skip(start).Take(256).ToArray();
                using var scope = torch.NewDisposeScope();
                var (x, _) = data.Tensors(chunk);
                var p = network.forward(x).softmax(1).to(torch.CPU).data<float>().ToArray();
                p.CopyTo(probabilities, start * classes);
            }
        }

        return probabilities;
    }

    /// <summary>The metric from row-major [rows, classes] probabilities.</summary>
    public static double Metric(float[] probabilities, int[] labels, int classes, LmuExperimentMetric metric)
    {
        var n = labels.Length;
        var correct = new int[classes];
        var total = new int[classes];
        double logLoss = 0;
        for (var i = 0; i < n; i++)
        {
            var row = probabilities.AsSpan(i * classes, classes);
            var best = 0;
            for (var k = 1; k < classes; k++)
            {
                if (row[k] > row[best])
                {
                    best = k;
                }
            }

            total[labels[i]]++;
            if (best == labels[i])
            {
                correct[labels[i]]++;
            }

            // ML.NET clips probabilities at 1e-15 in its log-loss too.
            logLoss -= Math.Log(Math.Max(row[labels[i]], 1e-15));
        }

        return metric switch
        {
            LmuExperimentMetric.MicroAccuracy => correct.Sum() / (double)n,
            LmuExperimentMetric.MacroAccuracy => Enumerable.Range(0, classes).Where(k => total[k] > 0).Average(k => correct[k] / (double)total[k]),
            _ => logLoss / n,
        };
    }

    /// <summary>True when <paramref name="a"/> is strictly better than <paramref name="b"/>.</summary>
    public static bool Better(double a, double b, LmuExperimentMetric metric) => metric == LmuExperimentMetric.LogLoss ? a < b : a > b;
}
