using System.Diagnostics;
using Lmu.MLNet.Maths;
using Lmu.MLNet.Tests.MLNet.Featurize;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Experiments;

/// <summary>
/// The pooled-memory + ridge family inside the LMU experiment, on generated data with tiny featurizers (a few
/// windows of a few projections: tens of features, a fraction of a second per fit).
/// </summary>
[TestClass]
public sealed class LmuExperimentPooledTests
{
    private const int Steps = 32;

    [TestMethod]
    public void PooledTrialsOpenTheBracketAndWinATaskWhereThePatternMoves()
    {
        var ml = new MLContext(seed: 1);
        var settings = Both(seed: 2, maxConfigurations: 5);
        var reported = new List<LmuTrialResult>();
        settings.Progress = new LmuExperimentTests.SyncProgress(reported.Add);
        // A separate validation set of 100 rows ranks the trials (each fits on all 48 training rows): a hold-out of
        // 10 rows would make the comparison below a coin toss between 0.9 and 1.0.
        var result = new LmuClassificationExperiment(ml, settings).Execute(Ramps(ml, 48, seed: 1), Ramps(ml, 100, seed: 2));

        CollectionAssert.AreEqual(result.Trials.ToArray(), reported.ToArray(), "one progress report per trial, in order");
        var pooled = result.Trials.Where(t => t.Family == LmuModelFamily.PooledRidge).ToList();
        Assert.HasCount(2, pooled);
        CollectionAssert.AreEqual(new[] { 0, 1 }, pooled.Select(t => t.TrialId).ToArray(), "the pooled configurations run first in the bracket");
        CollectionAssert.AreEqual(
            new[] { LmuFeatureNormalization.ZScorePerRow, LmuFeatureNormalization.None },
            pooled.Select(t => ((LmuPooledRidgeConfiguration)t.Configuration).Normalization).ToArray(),
            "the normalisations are tried in turn");
        Assert.IsTrue(pooled.All(t => t is { Rung: 0, EpochsTrained: 0, Status: LmuTrialStatus.Completed }));
        Assert.AreEqual(4, result.Trials.Count(t => t.Family == LmuModelFamily.LmuNetwork), "3 networks at rung 0, the best at rung 1");

        // The pattern sits anywhere in the row; a network reads its final state only, the pooled features every step.
        var bestNetwork = result.Trials.Where(t => t.Family == LmuModelFamily.LmuNetwork).Max(t => t.Metric!.Value);
        Assert.AreEqual(LmuModelFamily.PooledRidge, result.BestTrial.Family, $"best {result.BestTrial}");
        Assert.IsGreaterThan(bestNetwork, result.BestTrial.Metric!.Value, "the pooled family should win on merit, not on a tie");
        var accuracy = result.Evaluate(ml, Ramps(ml, 200, seed: 3)).MicroAccuracy;
        // Chance is 0.5; the same task gave 1.0 with a larger pooled featurizer (RidgeClassifierTests).
        Assert.IsGreaterThan(0.9, accuracy, $"test accuracy {accuracy}");
    }

    [TestMethod]
    public void TheFamilyCanBeExcludedOrSearchedAloneWithoutChangingTheOtherFamilysTrials()
    {
        var ml = new MLContext(seed: 1);
        var data = Ramps(ml, 40, seed: 4);
        var networksOnly = Run(ml, data, LmuExperimentTests.Settings(seed: 3));
        var both = Run(ml, data, Both(seed: 3, maxConfigurations: 5));
        var pooledOnly = Both(seed: 3, maxConfigurations: 3);
        pooledOnly.SearchSpace.Families = [LmuModelFamily.PooledRidge];
        var alone = Run(ml, data, pooledOnly);

        Assert.IsTrue(networksOnly.Trials.All(t => t.Family == LmuModelFamily.LmuNetwork));
        var networkTrials = both.Trials.Where(t => t.Family == LmuModelFamily.LmuNetwork).ToList();
        Assert.HasCount(networksOnly.Trials.Count, networkTrials);
        for (var i = 0; i < networkTrials.Count; i++)
        {
            Assert.AreEqual(networksOnly.Trials[i].Configuration, networkTrials[i].Configuration, $"network trial {i}");
            Assert.AreEqual(networksOnly.Trials[i].Metric, networkTrials[i].Metric, $"network trial {i} metric");
        }

        // Pooled only: two at the head of the first bracket, the third at the head of the second (no network between).
        Assert.HasCount(3, alone.Trials);
        Assert.IsTrue(alone.Trials.All(t => t.Family == LmuModelFamily.PooledRidge && t.Status == LmuTrialStatus.Completed));
        var pooledInBoth = both.Trials.Where(t => t.Family == LmuModelFamily.PooledRidge).ToList();
        for (var i = 0; i < pooledInBoth.Count; i++)
        {
            Assert.AreEqual(pooledInBoth[i].Configuration, alone.Trials[i].Configuration, $"pooled trial {i}");
            Assert.AreEqual(pooledInBoth[i].Metric, alone.Trials[i].Metric, $"pooled trial {i} metric");
        }

        Assert.AreEqual(LmuModelFamily.PooledRidge, alone.BestTrial.Family);
    }

    [TestMethod]
    public void SameSeedGivesTheSameTrialsAndModelAndADifferentSeedDoesNot()
    {
        var ml = new MLContext(seed: 1);
        var data = Ramps(ml, 40, seed: 5);
        var test = Ramps(ml, 30, seed: 6);
        var a = Run(ml, data, PooledOnly(seed: 7, maxConfigurations: 3));
        var b = Run(ml, data, PooledOnly(seed: 7, maxConfigurations: 3));
        var c = Run(ml, data, PooledOnly(seed: 8, maxConfigurations: 3));
        Assert.HasCount(a.Trials.Count, b.Trials);
        for (var i = 0; i < a.Trials.Count; i++)
        {
            Assert.AreEqual(a.Trials[i].Configuration, b.Trials[i].Configuration, $"trial {i}");
            Assert.AreEqual(a.Trials[i].Metric, b.Trials[i].Metric, $"trial {i} metric");
        }

        CollectionAssert.AreEqual(Scores(a.Model, test), Scores(b.Model, test), "the refitted models score identically");
        var seeds = a.Trials.Select(t => ((LmuPooledRidgeConfiguration)t.Configuration).Seed).ToArray();
        Assert.AreEqual(seeds.Length, seeds.Distinct().Count(), "each configuration draws its own random features");
        Assert.AreNotEqual(a.Trials[0].Configuration, c.Trials[0].Configuration);
    }

    [TestMethod]
    public void ThePooledBestModelSavesLoadsAndScoresIdentically()
    {
        var ml = new MLContext(seed: 1);
        var settings = PooledOnly(seed: 9, maxConfigurations: 2);
        settings.CrossValidationFolds = 2;
        // The prefix writes a column under the pooled chain's default intermediate name: the experiment must pick
        // another one, or its DropColumns would remove the user's column.
        var result = new LmuClassificationExperiment(ml, settings).Execute(
            Ramps(ml, 40, seed: 7), preprocessing: ml.Transforms.CopyColumns("LmuPooledFeatures", "Length"));
        Assert.AreEqual(LmuModelFamily.PooledRidge, result.BestTrial.Family);
        var test = Ramps(ml, 60, seed: 8);
        var scored = result.Model.Transform(test);
        CollectionAssert.AreEqual(
            test.GetColumn<float>("Length").ToArray(), scored.GetColumn<float>("LmuPooledFeatures").ToArray(), "the user's column survives");
        Assert.IsNull(scored.Schema.GetColumnOrNull("LmuPooledFeatures.1"), "the intermediate pooled features are dropped");
        Assert.AreEqual(2, ((VectorDataViewType)scored.Schema["Score"].Type).Size);
        var metrics = result.Evaluate(ml, test);
        Assert.IsGreaterThan(0.8, metrics.MicroAccuracy, $"test accuracy {metrics.MicroAccuracy}");

        using var stream = new MemoryStream();
        ml.Model.Save(result.Model, test.Schema, stream);
        stream.Position = 0;
        var loaded = new MLContext(seed: 9).Model.Load(stream, out _);
        CollectionAssert.AreEqual(Scores(result.Model, test), Scores(loaded, test), "bit-identical scores after reload");
        CollectionAssert.AreEqual(
            scored.GetColumn<string>("PredictedLabel").ToArray(), loaded.Transform(test).GetColumn<string>("PredictedLabel").ToArray());

        // AutoML's shape: PredictedLabel in the label's own values, and ML.NET's Evaluate straight on the raw schema.
        CollectionAssert.IsSubsetOf(scored.GetColumn<string>("PredictedLabel").Distinct().ToArray(), result.ClassNames.ToArray());
        var direct = ml.MulticlassClassification.Evaluate(result.Model.Transform(test));
        Assert.AreEqual(metrics.MicroAccuracy, direct.MicroAccuracy, "Evaluate on the raw test rows equals the result's Evaluate");
        var labels = test.GetColumn<string>("Label").ToArray();
        var predicted = scored.GetColumn<string>("PredictedLabel").ToArray();
        Assert.AreEqual(labels.Zip(predicted).Count(p => p.First == p.Second) / (double)labels.Length, direct.MicroAccuracy, 1e-12, "and equals a count of matching labels");
    }

    [TestMethod]
    public void MultichannelRightAlignedRowsAreSearched()
    {
        // Two channels, 12 to 32 real steps right-aligned (zeros first); the class is which channel carries the bump.
        var ml = new MLContext(seed: 1);
        var result = new LmuClassificationExperiment(ml, PooledOnly(seed: 4, maxConfigurations: 2)).Execute(TwoChannels(ml, 48, seed: 1), channels: 2);
        Assert.IsTrue(result.Trials.All(t => t.Status == LmuTrialStatus.Completed), string.Join("; ", result.Trials.Select(t => t.Error)));
        var accuracy = result.Evaluate(ml, TwoChannels(ml, 100, seed: 2)).MicroAccuracy;
        // Chance is 0.5.
        Assert.IsGreaterThan(0.9, accuracy, $"test accuracy {accuracy}");
    }

    [TestMethod]
    public void FailuresAreReportedAndCancellationKeepsTheBestSoFar()
    {
        var ml = new MLContext(seed: 1);
        var data = Ramps(ml, 40, seed: 9);
        var settings = PooledOnly(seed: 1, maxConfigurations: 3);
        var calls = 0;
        settings.BeforeTrial = _ =>
        {
            if (calls++ == 0)
            {
                throw new InvalidOperationException("injected failure");
            }
        };
        var result = Run(ml, data, settings);
        Assert.AreEqual(LmuTrialStatus.Failed, result.Trials[0].Status);
        StringAssert.Contains(result.Trials[0].Error, "injected failure");
        Assert.IsTrue(result.Trials.Skip(1).All(t => t.Status == LmuTrialStatus.Completed));

        settings = PooledOnly(seed: 1, maxConfigurations: 3);
        settings.BeforeTrial = _ => throw new InvalidOperationException("always");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidOperationException>(() => Run(ml, data, settings)).Message, "always");

        // The user cancels while the second trial starts: it is reported as cancelled (not as stopped by the budget, found
        // by QA), and the first one is the model.
        using var cancel = new CancellationTokenSource();
        var reported = new List<LmuTrialResult>();
        settings = PooledOnly(seed: 1, maxConfigurations: 0);
        settings.CancellationToken = cancel.Token;
        settings.Progress = new LmuExperimentTests.SyncProgress(reported.Add);
        calls = 0;
        settings.BeforeTrial = _ =>
        {
            if (calls++ == 1)
            {
                cancel.Cancel();
            }
        };
        var logged = new List<string>();
        ml.Log += (_, e) =>
        {
            lock (logged) logged.Add(e.Message);
        };
        result = Run(ml, data, settings);
        Assert.HasCount(2, reported);
        Assert.AreEqual(LmuTrialStatus.Cancelled, reported[1].Status);
        lock (logged)
        {
            // The refit after a cancellation is said, so a call that goes on is not a mystery (found by QA).
            Assert.IsTrue(logged.Any(m => m.Contains("Cancelled after 2 trials: refitting the best configuration (trial 0)", StringComparison.Ordinal)), string.Join("\n", logged.TakeLast(5)));
        }

        Assert.AreEqual(reported[0], result.BestTrial);
        Assert.IsNotNull(result.Model.Transform(data).Schema.GetColumnOrNull("Score"));
    }

    [TestMethod]
    public void TheTimeBudgetHoldsForPooledTrials()
    {
        var ml = new MLContext(seed: 1);
        var data = Ramps(ml, 40, seed: 10);
        // The budget is at least 3 s and three times one trial as this machine runs it now (the first, cold): a fixed
        // 3 s let no trial complete at a load average of 30-40 on the 2 cores (QA), and the search then fails by design.
        var once = PooledOnly(seed: 2, maxConfigurations: 1);
        once.RefitOnAllData = false;
        var budget = Math.Max(3, Math.Ceiling(3 * Run(ml, data, once).Trials.Max(t => t.Duration).TotalSeconds));
        var settings = PooledOnly(seed: 2, maxConfigurations: 0);
        settings.MaxExperimentTimeInSeconds = budget;
        settings.RefitOnAllData = false;
        var clock = Stopwatch.StartNew();
        var result = Run(ml, data, settings);
        var longest = result.Trials.Max(t => t.Duration);
        Bound.AtMost(budget + longest.TotalSeconds + 2, result.SearchTime.TotalSeconds, "search overran its budget by more than one trial (+2 s slack for a loaded machine)");
        // The search goes on while the budget lasts: its trials' time adds up to the budget less at most one trial, and
        // there is more than one. (The count alone depended on the machine's speed: at a load average of 12 on the 2
        // cores a pooled trial took 2 s instead of under 1, and only 2 fitted in 3 s.)
        var trials = string.Join(", ", result.Trials.Select(t => $"{t.Status} {t.Duration.TotalSeconds:0.00} s"));
        Assert.IsGreaterThan(1, result.Trials.Count, $"the budget should fit more than one pooled trial: {trials}");
        // The search's own time reaches the budget less one trial; its trials' time does too, less the search's own work
        // between trials (drawing and bookkeeping), allowed 10 ms a trial: a fresh clone's run on an AMD VM had 39 trials
        // of 0.05-0.12 s sum to 2.875 s for a bound of 2.883, the rest of the 3 s spent between them.
        Assert.IsGreaterThanOrEqualTo(budget - longest.TotalSeconds, result.SearchTime.TotalSeconds, $"the search stopped before its budget was used: {trials}");
        Assert.IsGreaterThanOrEqualTo(budget - longest.TotalSeconds - (0.01 * result.Trials.Count), result.Trials.Sum(t => t.Duration.TotalSeconds), $"the trials did not fill the search's time: {trials}");
        Bound.Below(clock.Elapsed.TotalSeconds + 0.001, result.SearchTime.TotalSeconds);
    }

    [TestMethod]
    public void TheBudgetStopsAPooledTrialInsideItsFit()
    {
        // One pooled configuration on 2600 rows (2080 in the hold-out's training part) of 4000 features: the ridge's
        // Gram matrix and ten penalty solves (cubic in the 2080 rows) take about 5.4 s uninterrupted (measured on the
        // 2-core Intel Xeon VM with the solver of 2026-12-07, which made 1300 rows of 2000 features, this test's data
        // until then, a 1.3 s ridge: too close to the budget), while the featurizer's fit and the featurization take
        // under 0.5 s. The solver checks the budget once per row or block of rows of each pass, so under a 1 s budget
        // the trial stops within a fraction of a second of it.
        var ml = new MLContext(seed: 1);
        var settings = PooledOnly(seed: 3, maxConfigurations: 1);
        settings.MaxExperimentTimeInSeconds = 1;
        settings.SearchSpace.PooledRidge.Windows = new(20, 20);
        settings.SearchSpace.PooledRidge.ProjectionsPerWindow = new(100, 100);
        settings.SearchSpace.PooledRidge.Order = new(6, 6);
        var reported = new List<LmuTrialResult>();
        settings.Progress = new LmuExperimentTests.SyncProgress(reported.Add);
        const int steps = 16;
        var rows = FeaturizerData.Random(2600, steps, 1, seed: 1);
        for (var i = 0; i < rows.Count; i++)
        {
            rows[i].Label = i % 2 == 0 ? "a" : "b";
        }

        var data = FeaturizerData.Load(ml, rows, steps);
        var clock = Stopwatch.StartNew();
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => Run(ml, data, settings));
        StringAssert.Contains(e.Message, "no trial completed");
        // And what to change (QA: nothing to act on).
        StringAssert.Contains(e.Message, "The budget stopped 1 trial(s), the longest after ");
        StringAssert.Contains(e.Message, "without finishing: give a larger MaxExperimentTimeInSeconds, or fewer training rows.");
        Assert.HasCount(1, reported);
        Assert.AreEqual(LmuTrialStatus.StoppedByBudget, reported[0].Status);
        // 1 s budget + up to 3 s for a loaded machine: still well below the uninterrupted trial.
        Bound.Below(4, clock.Elapsed.TotalSeconds, $"stopped after {clock.Elapsed.TotalSeconds:0.0} s");
    }

    [TestMethod]
    public void TheRidgeStopsOnCancellation()
    {
        var ml = new MLContext(seed: 1);
        var view = ml.Transforms.Conversion.MapValueToKey("Label").Fit(Ramps(ml, 10, seed: 1)).Transform(Ramps(ml, 10, seed: 1));
        var trainer = ml.MulticlassClassification.Trainers.Ridge("Label", "Features");
        Assert.ThrowsExactly<OperationCanceledException>(() => trainer.Fit(view, new CancellationToken(canceled: true)));
        var z = Enumerable.Range(0, 4).Select(i => new double[] { i, 1 - i }).ToList();
        Assert.ThrowsExactly<OperationCanceledException>(() => RidgeLeaveOneOut.Fit(z, new double[4, 1], [1.0], new CancellationToken(canceled: true)));
        using var fitted = trainer.Fit(view, CancellationToken.None);
        Assert.AreEqual(Steps, fitted.FeatureCount, "an uncancelled token fits");
    }

    [TestMethod]
    public void TheRowLimitAndBadRangesAreCheckedBeforeTraining()
    {
        var ml = new MLContext(seed: 1);
        var data = Ramps(ml, 40, seed: 11);
        var settings = Both(seed: 1, maxConfigurations: 4);
        settings.SearchSpace.PooledRidge.MaxTrainingRows = 39;
        var result = Run(ml, data, settings);
        Assert.IsTrue(result.Trials.All(t => t.Family == LmuModelFamily.LmuNetwork), "40 rows exceed the limit of 39: the family is left out");

        var trained = 0;
        settings = PooledOnly(seed: 1, maxConfigurations: 4);
        settings.SearchSpace.PooledRidge.MaxTrainingRows = 39;
        settings.BeforeTrial = _ => trained++;
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => Run(ml, data, settings)).Message, "MaxTrainingRows = 39");
        Assert.AreEqual(0, trained);

        string Bad(Action<LmuSearchSpace> edit)
        {
            var space = new LmuSearchSpace();
            edit(space);
            return Assert.ThrowsExactly<ArgumentException>(() => new LmuClassificationExperiment(ml, new LmuExperimentSettings { SearchSpace = space })).Message;
        }

        StringAssert.Contains(Bad(s => s.Families = []), "Families");
        StringAssert.Contains(Bad(s => s.PooledRidge.Order = new(1, 8)), "PooledRidge.Order");
        StringAssert.Contains(Bad(s => s.PooledRidge.Order = new(8, 65)), "PooledRidge.Order");
        StringAssert.Contains(Bad(s => s.PooledRidge.Normalizations = []), "Normalizations");
        StringAssert.Contains(Bad(s => s.PooledRidge.TrialsPerBracket = 0), "TrialsPerBracket");
    }

    [TestMethod]
    public void AKeyLabelKeepsItsKeyOrderSoMetricsReadTheRightClasses()
    {
        // MapValueToKey numbers classes by first occurrence: "up" (the first row) is key 1, before "down". The experiment
        // sorted the names, so Score's slot 0 meant "down" while ML.NET's evaluator read it as key 1, "up": a perfect
        // model evaluated at 0 accuracy (found by QA).
        var ml = new MLContext(seed: 1);
        var toKey = ml.Transforms.Conversion.MapValueToKey("Label").Fit(Ramps(ml, 40, seed: 1));
        var train = toKey.Transform(Ramps(ml, 40, seed: 1));
        var test = toKey.Transform(Ramps(ml, 40, seed: 2));
        var result = Run(ml, train, PooledOnly(seed: 1, maxConfigurations: 1));
        CollectionAssert.AreEqual(new[] { "up", "down" }, result.ClassNames.ToArray());
        var scored = result.Model.Transform(test);
        var metrics = ml.MulticlassClassification.Evaluate(scored);
        var predicted = scored.GetColumn<string>("PredictedLabel").ToArray();
        var truth = toKey.Transform(Ramps(ml, 40, seed: 2)).GetColumn<uint>("Label").Select(k => k == 1 ? "up" : "down").ToArray();
        var agree = predicted.Zip(truth).Count(p => p.First == p.Second) / 40.0;
        Assert.IsGreaterThan(0.8, agree, "the ramps are easy: the predicted text labels are mostly right");
        Assert.AreEqual(agree, metrics.MicroAccuracy, 1e-9, "the evaluator reads the same classes as PredictedLabel");

        // Every key value is a class name, but a key label whose rows hold one class is still one class (found by review:
        // it passed the check and every trial failed, blaming the budget).
        var onlyUp = ml.Data.FilterByCustomPredicate<LabelRow>(toKey.Transform(Ramps(ml, 40, seed: 3)), r => r.Label != 1);
        var e = Assert.ThrowsExactly<ArgumentException>(() => Run(ml, onlyUp, PooledOnly(seed: 1, maxConfigurations: 1)));
        StringAssert.Contains(e.Message, "label column 'Label' has 1 distinct class(es) in the training data ('up')");
    }

    [TestMethod]
    public void ANumberLabelKeyedByMapValueToKeyIsSearched()
    {
        // Its key values are Single: refused as "no key values; give the labels as text" before (found by QA), although
        // the classifier, the ridge and CrossValidate take it.
        var ml = new MLContext(seed: 1);
        var numbers = ml.Transforms.Conversion.MapValue("Label", new Dictionary<string, float> { ["up"] = 1f, ["down"] = 2f }, "Label");
        var keyed = numbers.Append(ml.Transforms.Conversion.MapValueToKey("Label")).Fit(Ramps(ml, 40, seed: 1));
        var result = Run(ml, keyed.Transform(Ramps(ml, 40, seed: 1)), PooledOnly(seed: 1, maxConfigurations: 1));
        CollectionAssert.AreEqual(new[] { "1", "2" }, result.ClassNames.ToArray(), "the key's values as text, in key order");
        var metrics = ml.MulticlassClassification.Evaluate(result.Model.Transform(keyed.Transform(Ramps(ml, 40, seed: 2))));
        Assert.IsGreaterThan(0.8, metrics.MicroAccuracy, "the ramps are easy");

        // The number itself, unkeyed, is refused with the fix spelled out.
        var e = Assert.ThrowsExactly<ArgumentException>(() => Run(ml, numbers.Fit(Ramps(ml, 40, seed: 1)).Transform(Ramps(ml, 40, seed: 1)), PooledOnly(seed: 1, maxConfigurations: 1)));
        StringAssert.Contains(e.Message, "MapValueToKey(\"Label\") makes a key of it");
    }

    [TestMethod]
    public void ValidationRowsOfAnotherSizeAreRefusedBeforeAnyTrial()
    {
        var ml = new MLContext(seed: 1);
        var shorter = FeaturizerData.Random(6, Steps - 4, 1, seed: 3);
        shorter.ForEach(r => r.Label = "up");
        var tried = 0;
        var settings = PooledOnly(seed: 1, maxConfigurations: 1);
        settings.BeforeTrial = _ => tried++;
        var e = Assert.ThrowsExactly<ArgumentException>(() => new LmuClassificationExperiment(ml, settings).Execute(Ramps(ml, 20, seed: 1), FeaturizerData.Load(ml, shorter, Steps - 4)));
        StringAssert.Contains(e.Message, $"{Steps - 4} values per row in the validation data but {Steps} in the training data");
        Assert.AreEqual(0, tried);
    }

    public sealed class LabelRow
    {
        [KeyType(2)]
        public uint Label { get; set; }
    }

    private static LmuExperimentResult Run(MLContext ml, IDataView data, LmuExperimentSettings settings) =>
        new LmuClassificationExperiment(ml, settings).Execute(data);

    /// <summary>The network tests' small settings with both families and a tiny pooled range.</summary>
    internal static LmuExperimentSettings Both(int seed, int maxConfigurations)
    {
        var settings = LmuExperimentTests.Settings(seed);
        settings.MaxConfigurations = maxConfigurations;
        // No default trial: these tests count and order the sampled pooled trials (LmuExperimentSelectionTests covers it).
        settings.StartWithDefault = false;
        settings.SearchSpace.Families = [LmuModelFamily.LmuNetwork, LmuModelFamily.PooledRidge];
        settings.SearchSpace.PooledRidge = new LmuPooledRidgeSearchSpace
        {
            Windows = new(3, 5),
            ProjectionsPerWindow = new(6, 10),
            Order = new(4, 6),
        };
        return settings;
    }

    private static LmuExperimentSettings PooledOnly(int seed, int maxConfigurations)
    {
        var settings = Both(seed, maxConfigurations);
        settings.SearchSpace.Families = [LmuModelFamily.PooledRidge];
        return settings;
    }

    internal static float[] Scores(ITransformer model, IDataView data) =>
        model.Transform(data).GetColumn<float[]>("Score").SelectMany(v => v).ToArray();

    /// <summary>A short rising ("up") or falling ("down") ramp at a random position in noise.</summary>
    internal static IDataView Ramps(MLContext ml, int count, int seed)
    {
        var rng = new Random(seed);
        var rows = new List<SeqRow>();
        for (var i = 0; i < count; i++)
        {
            var up = i % 2 == 0;
            var x = Enumerable.Range(0, Steps).Select(_ => (float)(0.3 * (rng.NextDouble() - 0.5))).ToArray();
            var start = rng.Next(0, Steps - 8);
            for (var t = 0; t < 8; t++)
            {
                x[start + t] += (float)((up ? t : 7 - t) / 3.5);
            }

            rows.Add(new SeqRow { Features = x, Length = Steps, Label = up ? "up" : "down" });
        }

        return FeaturizerData.Load(ml, rows, Steps);
    }

    /// <summary>Right-aligned two-channel rows of 12..32 real steps: a bump on channel 0 ("first") or 1 ("second") at a random step.</summary>
    private static IDataView TwoChannels(MLContext ml, int count, int seed)
    {
        var rng = new Random(seed);
        var rows = new List<SeqRow>();
        for (var i = 0; i < count; i++)
        {
            var channel = i % 2;
            var length = rng.Next(12, Steps + 1);
            var x = new float[Steps * 2];
            for (var t = Steps - length; t < Steps; t++)
            {
                x[t * 2] = (float)(0.2 * (rng.NextDouble() - 0.5));
                x[(t * 2) + 1] = (float)(0.2 * (rng.NextDouble() - 0.5));
            }

            var at = rng.Next(Steps - length, Steps - 4);
            for (var t = 0; t < 4; t++)
            {
                x[((at + t) * 2) + channel] += 1;
            }

            rows.Add(new SeqRow { Features = x, Length = length, Label = channel == 0 ? "first" : "second" });
        }

        return FeaturizerData.Load(ml, rows, Steps * 2);
    }
}
