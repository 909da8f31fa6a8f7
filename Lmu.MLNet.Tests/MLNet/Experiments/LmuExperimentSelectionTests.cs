using Microsoft.ML;

namespace Lmu.MLNet.Tests.MLNet.Experiments;

/// <summary>
/// Trial 0 (the fixed pooled + ridge default), repeated stratified folds shared by every trial, the final rung and the
/// selection rule, on generated ramps (24 rows: 3 folds x 5 automatic repeats) with tiny pooled challengers. The
/// fold metrics are injected where the rule itself is under test, so the cases are exact.
/// </summary>
[TestClass]
public sealed class LmuExperimentSelectionTests
{
    private const int Rows = 24;

    [TestMethod]
    public void TheRealDefaultIsTrialZeroAndIsTheModelWhenTheBudgetStopsIt()
    {
        var ml = new MLContext(seed: 1);
        var settings = Settings(seed: 5, maxConfigurations: 1);
        settings.DefaultOverride = null;
        settings.CrossValidationRepeats = 1;
        var result = Run(ml, settings);
        var first = (LmuPooledRidgeConfiguration)result.Trials.Single().Configuration;
        Assert.AreEqual(LmuPooledRidgeConfiguration.Default(channels: 1, seed: 5), first, "trial 0 is the fixed default");
        Assert.AreEqual(LmuFeatureNormalization.ZScorePerRow, first.Normalization);
        Assert.AreEqual(10_000, first.FeatureCount, "the featurizer's defaults");
        Assert.AreEqual(LmuFeatureNormalization.None, LmuPooledRidgeConfiguration.Default(channels: 3, seed: 5).Normalization, "raw for several channels");
        Assert.IsTrue(result.DefaultKept);
        Assert.HasCount(3, result.BestTrial.FoldMetrics);

        // A budget too small for even one fold of the default: nothing argues against it, so it is the model, and the
        // Log says that its fit on all rows runs outside the budget, unmeasured (QA: minutes past the budget, silently).
        settings = Settings(seed: 5, maxConfigurations: 0);
        settings.MaxExperimentTimeInSeconds = 1e-3;
        var log = new List<string>();
        ml.Log += (_, e) =>
        {
            if (e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Info) lock (log) log.Add(e.Message);
        };
        var stopped = Run(ml, settings);
        lock (log)
        {
            Assert.IsTrue(log.Any(m => m.Contains("budget ran out before the default configuration (trial 0) finished a fold fit", StringComparison.Ordinal)
                                       && m.Contains($"now fitted on all {Rows} training rows, outside the budget", StringComparison.Ordinal)), string.Join("\n", log));
        }

        Assert.AreEqual(LmuTrialStatus.StoppedByBudget, stopped.Trials[0].Status);
        Assert.AreSame(stopped.Trials[0], stopped.BestTrial);
        Assert.IsTrue(stopped.DefaultKept);
        Assert.IsNull(stopped.ImprovementOverDefault);
        var accuracy = stopped.Evaluate(ml, LmuExperimentPooledTests.Ramps(ml, 40, seed: 12)).MicroAccuracy;
        Assert.IsGreaterThan(0.7, accuracy, $"the default fitted on all rows; test accuracy {accuracy}");
    }

    [TestMethod]
    public void TheDefaultIsTrialZeroAndEveryTrialSeesTheSameStratifiedRepeatedFolds()
    {
        var ml = new MLContext(seed: 1);
        var settings = Settings(seed: 5, maxConfigurations: 4);
        var seen = new Dictionary<int, List<int[]>>();
        settings.FoldMetricOverride = (_, fold, rows, metric) =>
        {
            (seen.TryGetValue(fold, out var list) ? list : seen[fold] = []).Add(rows.ToArray());
            return metric;
        };
        var result = Run(ml, settings);

        var first = result.Trials[0];
        Assert.AreEqual(settings.DefaultOverride, first.Configuration, "trial 0 is the default");
        Assert.AreSame(first, result.DefaultTrial);
        Assert.HasCount(15, first.FoldMetrics, "3 folds x 5 repeats (automatic at 24 rows)");
        Assert.AreEqual(first.FoldMetrics.Average(), first.Metric!.Value, 1e-12);
        Assert.IsNotNull(first.MetricStandardError);

        // Three challengers on the first repeat's folds, then one finalist (automatic at 24 rows) on every repeat.
        var search = result.Trials.Skip(1).Where(t => t.Rung == 0).ToList();
        Assert.HasCount(3, search);
        Assert.IsTrue(search.All(t => t.FoldMetrics.Count == 3 && t.Status == LmuTrialStatus.Completed));
        var final = result.Trials.Single(t => t.Rung == settings.Rungs);
        var leader = search.OrderByDescending(t => t.Metric).ThenBy(t => t.TrialId).First();
        Assert.AreEqual(leader.Configuration, final.Configuration, "the finalist is the best first-repeat challenger");
        Assert.HasCount(15, final.FoldMetrics);
        CollectionAssert.AreEqual(leader.FoldMetrics.ToArray(), final.FoldMetrics.Take(3).ToArray(), "its first-repeat folds are carried over");
        Assert.AreSame(final, result.BestChallenger);

        // The same rows in fold f for every trial that saw it; each repeat's 3 folds partition the rows, stratified
        // (12 rows of each class: 4 of each per fold); the repeats are different shuffles.
        Assert.HasCount(15, seen);
        foreach (var (fold, views) in seen)
        {
            Assert.IsTrue(views.All(v => v.SequenceEqual(views[0])), $"fold {fold} differs between trials");
            Assert.AreEqual(fold < 3 ? 1 + search.Count : 2, views.Count, $"fold {fold}: trials that saw it");
            Assert.AreEqual(4, views[0].Count(r => r % 2 == 0), $"fold {fold}: 'up' rows");
            Assert.AreEqual(4, views[0].Count(r => r % 2 == 1), $"fold {fold}: 'down' rows");
        }

        for (var repeat = 0; repeat < 5; repeat++)
        {
            var union = Enumerable.Range(3 * repeat, 3).SelectMany(f => seen[f][0]).Order().ToArray();
            CollectionAssert.AreEqual(Enumerable.Range(0, Rows).ToArray(), union, $"repeat {repeat} partitions the rows");
        }

        Assert.IsFalse(seen[0][0].Order().SequenceEqual(seen[3][0].Order()), "repeat 1 reshuffles the folds");
    }

    [TestMethod]
    public void AChallengerBetterByLessThanTheNoiseDoesNotReplaceTheDefault()
    {
        // The challenger is better by +0.3 on even folds and worse by 0.2 on odd ones: +0.7/9 on average over the 9
        // folds (3 x 3 repeats), with a corrected standard error of about 0.2.
        static double Challenger(int fold) => 0.8 + (fold % 2 == 0 ? 0.3 : -0.2);
        var ml = new MLContext(seed: 1);
        var settings = Injected(Challenger);
        var result = Run(ml, settings);

        var (mean, se) = Paired(Enumerable.Range(0, 9).Select(f => Challenger(f) - 0.8).ToArray());
        Assert.AreEqual(0.7 / 9, mean, 1e-12);
        Assert.IsGreaterThan(mean, se, "the case is within the noise");
        Assert.IsTrue(result.DefaultKept, $"improvement {result.ImprovementOverDefault} +- {result.ImprovementStandardError}");
        Assert.AreSame(result.Trials[0], result.BestTrial);
        Assert.AreEqual(mean, result.ImprovementOverDefault!.Value, 1e-12);
        Assert.AreEqual(se, result.ImprovementStandardError!.Value, 1e-12);
        Assert.IsNotNull(result.BestChallenger);
        Assert.AreNotEqual(result.DefaultTrial!.Configuration, result.BestChallenger.Configuration);

        // The rule is what keeps it: with a zero margin the better mean wins.
        settings = Injected(Challenger);
        settings.SelectionStandardErrors = 0;
        result = Run(ml, settings);
        Assert.IsFalse(result.DefaultKept);
        Assert.AreSame(result.BestChallenger, result.BestTrial);
    }

    [TestMethod]
    public void AClearlyBetterChallengerReplacesTheDefaultAndThePairingIsWhatShowsIt()
    {
        // The folds differ by 0.2 from each other (for both), the challenger is better by 0.05 on every one: unpaired,
        // 0.05 is well inside either trial's spread; paired, it is a difference with no noise at all.
        static double Fold(int fold) => 0.7 + (fold % 2 == 0 ? 0.2 : 0);
        var ml = new MLContext(seed: 1);
        var settings = Injected(f => Fold(f) + 0.05, Fold);
        settings.SelectionStandardErrors = 3;
        var result = Run(ml, settings);

        Assert.IsFalse(result.DefaultKept);
        Assert.AreSame(result.BestChallenger, result.BestTrial);
        Assert.AreEqual(0.05, result.ImprovementOverDefault!.Value, 1e-12);
        Assert.AreEqual(0, result.ImprovementStandardError!.Value, 1e-12);
        Assert.IsGreaterThan(0.05, result.DefaultTrial!.MetricStandardError!.Value, "each trial alone is noisier than the difference");
        Assert.AreEqual(LmuModelFamily.PooledRidge, result.BestTrial.Family);
        Assert.AreNotEqual(result.DefaultTrial.Configuration, result.BestTrial.Configuration);
        Assert.IsNotNull(result.Model.Transform(LmuExperimentPooledTests.Ramps(ml, 10, seed: 3)).Schema.GetColumnOrNull("Score"));
    }

    [TestMethod]
    public void TheStatisticsMatchTheirFormulasAndTheAutomaticCountsFollowTheRows()
    {
        // Differences 0.1, 0.3, 0.2, 0.0: mean 0.15, sample variance 0.05 / 3; 2 folds per repeat (ratio 1).
        var (mean, se) = LmuFoldStatistics.Improvement([0.6, 0.8, 0.7, 0.5], [0.5, 0.5, 0.5, 0.5], 1.0, LmuExperimentMetric.MicroAccuracy);
        Assert.AreEqual(0.15, mean, 1e-12);
        Assert.AreEqual(Math.Sqrt(0.05 / 3 * (0.25 + 1.0)), se!.Value, 1e-12);
        var (lossMean, _) = LmuFoldStatistics.Improvement([0.2, 0.4], [0.3, 0.6], 1.0, LmuExperimentMetric.LogLoss);
        Assert.AreEqual(0.15, lossMean, 1e-12, "a lower log-loss is an improvement");
        Assert.IsNull(LmuFoldStatistics.StandardError([0.5], 0.5), "one fold has no spread");
        Assert.IsTrue(LmuFoldStatistics.Replaces(0.15, 0.1, 1));
        Assert.IsFalse(LmuFoldStatistics.Replaces(0.15, 0.2, 1));
        Assert.IsFalse(LmuFoldStatistics.Replaces(0, 0, 0), "a tie keeps the default");
        Assert.IsTrue(LmuFoldStatistics.Replaces(0.01, null, 5), "one fold: the means decide");

        Assert.AreEqual(5, LmuExperimentSearch.AutomaticRepeats(20, 3));
        Assert.AreEqual(3, LmuExperimentSearch.AutomaticRepeats(67, 3));
        Assert.AreEqual(1, LmuExperimentSearch.AutomaticRepeats(300, 3));
        Assert.AreEqual(2, LmuExperimentSearch.AutomaticRepeats(300, 1), "a hold-out is repeated at least twice");
        Assert.AreEqual(1, LmuExperimentSearch.AutomaticFinalists(20));
        Assert.AreEqual(2, LmuExperimentSearch.AutomaticFinalists(100));
        Assert.AreEqual(4, LmuExperimentSearch.AutomaticFinalists(3000));

        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new LmuExperimentSettings { CrossValidationRepeats = -1 }.Validate()).Message, "CrossValidationRepeats");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new LmuExperimentSettings { SelectionStandardErrors = double.NaN }.Validate()).Message, "SelectionStandardErrors");
    }

    /// <summary>
    /// Pooled family only (tiny challengers), the default first (a tiny stand-in unless DefaultOverride is reset: the
    /// real one costs about a second per fold on a loaded machine), 3-fold cross-validation, automatic repeats.
    /// </summary>
    private static LmuExperimentSettings Settings(int seed, int maxConfigurations)
    {
        var settings = LmuExperimentPooledTests.Both(seed, maxConfigurations);
        settings.SearchSpace.Families = [LmuModelFamily.PooledRidge];
        settings.StartWithDefault = true;
        settings.DefaultOverride = new LmuPooledRidgeConfiguration(4, 8, 5, LmuFeatureNormalization.ZScorePerRow, seed);
        settings.CrossValidationFolds = 3;
        settings.CrossValidationRepeats = 0;
        // The configuration count bounds these runs, never the clock (a loaded machine would shorten the search).
        settings.MaxExperimentTimeInSeconds = 3600;
        return settings;
    }

    /// <summary>The default and one challenger on 3 folds x 3 repeats, with injected fold metrics (the default's: 0.8 unless given).</summary>
    private static LmuExperimentSettings Injected(Func<int, double> challenger, Func<int, double>? reference = null)
    {
        var settings = Settings(seed: 2, maxConfigurations: 2);
        settings.CrossValidationRepeats = 3;
        var defaults = settings.DefaultOverride;
        settings.FoldMetricOverride = (config, fold, _, _) => config == defaults ? reference?.Invoke(fold) ?? 0.8 : challenger(fold);
        return settings;
    }

    /// <summary>Mean and Nadeau-Bengio standard error of paired differences over 3-fold splits of 24 rows (validation/training = 8/16).</summary>
    private static (double Mean, double StandardError) Paired(double[] d)
    {
        var mean = d.Average();
        var variance = d.Sum(x => (x - mean) * (x - mean)) / (d.Length - 1);
        return (mean, Math.Sqrt(variance * ((1.0 / d.Length) + (8.0 / 16))));
    }

    private static LmuExperimentResult Run(MLContext ml, LmuExperimentSettings settings) =>
        new LmuClassificationExperiment(ml, settings).Execute(LmuExperimentPooledTests.Ramps(ml, Rows, seed: 11));
}
