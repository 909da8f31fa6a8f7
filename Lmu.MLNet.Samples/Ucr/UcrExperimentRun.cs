using System.Diagnostics;
using Lmu.MLNet.Samples.Bench;
using Microsoft.ML;
using TorchSharp;

namespace Lmu.MLNet.Samples.Ucr;

/// <summary>One AutoML-style LMU experiment on a shared UCR set: every trial as it ends, the best model tested and saved.</summary>
internal static class UcrExperimentRun
{
    public sealed record Settings(string Dataset, double BudgetSeconds, int Folds, int Threads, int Seed, string Output);

    public static int Run(Settings s)
    {
        var ucr = SharedFolder.Find(Path.Combine("data", "ucr"));
        if (ucr is null)
        {
            Console.Error.WriteLine("error: shared/data/ucr not found above the working directory.");
            return 2;
        }

        if (!Directory.Exists(Path.Combine(ucr, s.Dataset)))
        {
            var sets = Directory.GetDirectories(ucr).Select(Path.GetFileName).Order(StringComparer.Ordinal);
            Console.Error.WriteLine($"error: --dataset '{s.Dataset}' is not in '{ucr}'; the sets there are {string.Join(", ", sets)}.");
            return 2;
        }

        // Staged before the search, so an output that cannot be written fails now and a failure leaves nothing (found by QA).
        using var output = new Cli.StagedOutput(s.Output);

        torch.set_num_threads(s.Threads);
        var (train, test) = UcrLoader.LoadSplit(Path.Combine(ucr, s.Dataset), s.Dataset);
        CompleteRows.Require(train, "TRAIN");
        CompleteRows.Require(test, "TEST");
        var steps = Math.Max(train.MaxLength, test.MaxLength);
        // The carried ONNX graphs' temp files in a folder of this run, removed however it ends: two files were left in
        // $TMPDIR by every run (QA), the returned model never being disposed before the process ended.
        using var temp = new Cli.RunTempFolder();
        var ml = new MLContext(s.Seed) { TempFilePath = temp.Folder };
        var settings = new LmuExperimentSettings
        {
            Seed = s.Seed, MaxExperimentTimeInSeconds = s.BudgetSeconds, CrossValidationFolds = s.Folds, BatchSize = 16,
            Progress = new Printer(),
        };
        Console.WriteLine($"experiment on {s.Dataset}: {train.Rows.Count} train / {test.Rows.Count} test rows, {steps} steps x {train.Channels} channels; " +
                          $"budget {s.BudgetSeconds} s, {(s.Folds > 1 ? $"{s.Folds}-fold cross-validation" : "20 % stratified hold-out")}, seed {s.Seed}, torch threads {s.Threads}");
        Console.WriteLine("trial rung epochs status     metric  spread folds  time    configuration");
        var clock = Stopwatch.StartNew();
        var result = new LmuClassificationExperiment(ml, settings).Execute(train.ToDataView(ml, steps, rightAlign: true), channels: train.Channels);
        using var model = result.Model as IDisposable;
        var testView = test.ToDataView(ml, steps, rightAlign: true);
        var metrics = result.Evaluate(ml, testView);
        LmuModelFile.Save(ml, result.Model, testView.Schema, output.File("model.zip"));
        var zip = output.Commit().Single();
        Console.WriteLine();
        // One fold (the hold-out) has no spread: it printed "+-  over 1 folds" (found by QA).
        var spread = result.BestTrial.FoldMetrics.Count > 1
            ? $" +- {result.BestTrial.MetricStandardError:F4} over {result.BestTrial.FoldMetrics.Count} folds"
            : " on the hold-out split";
        Console.WriteLine($"best trial {result.BestTrial.TrialId}: {result.BestTrial.Configuration} (validation {result.BestTrial.Metric:F4}{spread})");
        Console.WriteLine(Selection(result));
        Console.WriteLine($"test accuracy {metrics.MicroAccuracy:F4} (macro {metrics.MacroAccuracy:F4}); {result.Trials.Count} trials; search {result.SearchTime.TotalSeconds:F1} s, refit {result.RefitTime.TotalSeconds:F1} s, total {clock.Elapsed.TotalSeconds:F1} s");
        Console.WriteLine($"saved {zip}");
        return 0;
    }

    /// <summary>One line: whether the default was kept, and the best challenger's paired improvement over it.</summary>
    public static string Selection(LmuExperimentResult r) =>
        (r.DefaultTrial is null ? "no default trial" : r.DefaultKept ? "default kept" : $"default replaced by trial {r.BestTrial.TrialId} ({r.BestTrial.Family})") +
        (r.ImprovementOverDefault is double d ? $"; best challenger {d:+0.0000;-0.0000;0.0000} +- {r.ImprovementStandardError ?? 0:0.0000} vs default over {r.BestChallenger!.FoldMetrics.Count} folds" : "; no challenger reached the final rung") +
        $"; {r.Trials.Count} trials";

    /// <summary>Prints each trial when it ends (the experiment reports on its own thread, in order).</summary>
    private sealed class Printer : IProgress<LmuTrialResult>
    {
        public void Report(LmuTrialResult t) => Console.WriteLine(
            $"{t.TrialId,5} {t.Rung,4} {t.EpochsTrained,6} {t.Status,-10} {(t.Metric is double m ? m.ToString("F4") : "   -  "),6} {(t.MetricStandardError is double e ? "+-" + e.ToString("F4") : "       "),7} {t.FoldMetrics.Count,3} {t.Duration.TotalSeconds,6:F1}s  {t.Configuration}{(t.Error is null ? "" : "  " + t.Error)}");
    }
}
