using System.Diagnostics;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Tests.MLNet.Featurize;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Experiments;

/// <summary>The AutoML-style LMU experiment on a tiny generated two-class problem (seconds per test).</summary>
[TestClass]
public sealed class LmuExperimentTests
{
    private const int Steps = 16;

    [TestMethod]
    public void SameSeedGivesTheSameTrialsAndADifferentSeedDoesNot()
    {
        var ml = new MLContext(seed: 1);
        var data = Data(ml, 48, seed: 1);
        var a = Run(ml, data, Settings(seed: 3));
        var b = Run(ml, data, Settings(seed: 3));
        var c = Run(ml, data, Settings(seed: 4));
        Assert.HasCount(a.Trials.Count, b.Trials);
        for (var i = 0; i < a.Trials.Count; i++)
        {
            Assert.AreEqual(a.Trials[i].Configuration, b.Trials[i].Configuration, $"trial {i}");
            Assert.AreEqual(a.Trials[i].Metric, b.Trials[i].Metric, $"trial {i} metric");
        }

        Assert.AreNotEqual(a.Trials[0].Configuration, c.Trials[0].Configuration);
    }

    [TestMethod]
    public void SuccessiveHalvingPromotesTheBestAndReportsEveryTrial()
    {
        var ml = new MLContext(seed: 1);
        var reported = new List<LmuTrialResult>();
        var settings = Settings(seed: 5);
        settings.Progress = new SyncProgress(reported.Add);
        var result = Run(ml, Data(ml, 48, seed: 2), settings);

        CollectionAssert.AreEqual(result.Trials.ToArray(), reported.ToArray(), "one progress report per trial, in order");
        // 3 configurations at rung 0 (a third of their epochs), the best one again at rung 1 with all its epochs.
        Assert.AreEqual(3, result.Trials.Count(t => t.Rung == 0));
        var top = result.Trials.Single(t => t.Rung == 1);
        var bestAtZero = result.Trials.Where(t => t.Rung == 0).OrderByDescending(t => t.Metric).ThenBy(t => t.TrialId).First();
        Assert.AreEqual(bestAtZero.Configuration, top.Configuration);
        Assert.AreEqual(((LmuTrialConfiguration)top.Configuration).Epochs, top.EpochsTrained);
        Bound.Below(top.EpochsTrained, bestAtZero.EpochsTrained);
        Assert.AreEqual(top, result.BestTrial);
    }

    [TestMethod]
    public void FailedTrialsAreReportedNotFatal()
    {
        var ml = new MLContext(seed: 1);
        var settings = Settings(seed: 6);
        var calls = 0;
        settings.BeforeTrial = _ =>
        {
            if (calls++ == 0)
            {
                throw new InvalidOperationException("injected failure");
            }
        };
        var result = Run(ml, Data(ml, 48, seed: 3), settings);
        var failed = result.Trials[0];
        Assert.AreEqual(LmuTrialStatus.Failed, failed.Status);
        Assert.IsNull(failed.Metric);
        StringAssert.Contains(failed.Error, "injected failure");
        Assert.IsTrue(result.Trials.Skip(1).All(t => t.Status == LmuTrialStatus.Completed));

        settings = Settings(seed: 6);
        settings.BeforeTrial = _ => throw new InvalidOperationException("always");
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => Run(ml, Data(ml, 48, seed: 3), settings));
        StringAssert.Contains(e.Message, "always");
    }

    [TestMethod]
    public void TheNetworksFollowTheContextsGpuDeviceIdAsTheEstimatorsDo()
    {
        if (TorchSharp.torch.cuda.is_available())
        {
            Assert.Inconclusive("CUDA is available here, so the absent-GPU path cannot be exercised.");
        }

        // The experiment trained on the CPU whatever the MLContext asked for (found by QA).
        var ml = new MLContext(seed: 1) { GpuDeviceId = 0, FallbackToCpu = false };
        var data = Data(ml, 48, seed: 1);
        var tried = 0;
        var settings = Settings(seed: 3);
        settings.BeforeTrial = _ => tried++;
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => Run(ml, data, settings));
        StringAssert.Contains(e.Message, "GpuDeviceId = 0");
        StringAssert.Contains(e.Message, "FallbackToCpu");
        Assert.AreEqual(0, tried, "refused before any trial");

        // An explicit device wins over the context, and is named when it cannot be served.
        settings = Settings(seed: 3);
        settings.Device = "cuda:1";
        e = Assert.ThrowsExactly<InvalidOperationException>(() => Run(new MLContext(seed: 1), data, settings));
        StringAssert.Contains(e.Message, "LmuExperimentSettings.Device = \"cuda:1\"");

        ml.FallbackToCpu = true;
        var result = Run(ml, data, Settings(seed: 3));
        Assert.IsTrue(result.Trials.All(t => t.Status == LmuTrialStatus.Completed), string.Join("; ", result.Trials));
    }

    [TestMethod]
    public void TheBestModelSavesLoadsAndScoresTheTestSet()
    {
        var ml = new MLContext(seed: 1);
        var settings = Settings(seed: 7);
        var result = new LmuClassificationExperiment(ml, settings).Execute(
            Data(ml, 60, seed: 4), preprocessing: ml.Transforms.NormalizeMinMax("Features"));
        var test = Data(ml, 60, seed: 5);
        var metrics = result.Evaluate(ml, test);

        using var stream = new MemoryStream();
        ml.Model.Save(result.Model, test.Schema, stream);
        stream.Position = 0;
        var loaded = new MLContext(seed: 9).Model.Load(stream, out _);
        CollectionAssert.AreEqual(
            result.Model.Transform(test).GetColumn<float[]>("Score").SelectMany(v => v).ToArray(),
            loaded.Transform(test).GetColumn<float[]>("Score").SelectMany(v => v).ToArray());
    }

    [TestMethod]
    public void TheTimeBudgetIsRespectedWithinOneTrial()
    {
        var ml = new MLContext(seed: 1);
        var data = Data(ml, 48, seed: 6);
        // At least 3 s and six times one trial as this machine runs it now (the first, cold), so that several fit: a
        // fixed 3 s was close on a 2-core machine at a load average of 30-40 (the pooled twin of this test failed there).
        var once = Settings(seed: 8);
        once.MaxConfigurations = 1;
        once.RefitOnAllData = false;
        once.CrossValidationFolds = 2;
        var budget = Math.Max(3, Math.Ceiling(6 * Run(ml, data, once).Trials.Max(t => t.Duration).TotalSeconds));
        var settings = Settings(seed: 8);
        settings.MaxConfigurations = 0;
        settings.MaxExperimentTimeInSeconds = budget;
        settings.RefitOnAllData = false;
        settings.CrossValidationFolds = 2;
        var clock = Stopwatch.StartNew();
        var result = Run(ml, data, settings);
        var longest = result.Trials.Max(t => t.Duration);
        Bound.AtMost(budget + longest.TotalSeconds + 2, result.SearchTime.TotalSeconds, "search overran its budget by more than one trial (+2 s slack for a loaded machine)");
        Assert.IsGreaterThan(3, result.Trials.Count, "the budget should fit several trials");
        Bound.Below(clock.Elapsed.TotalSeconds + 0.001, result.SearchTime.TotalSeconds);
    }

    [TestMethod]
    public void CancellationBeforeAnyTrialThrowsAndBadInputsAreRejectedBeforeTraining()
    {
        var ml = new MLContext(seed: 1);
        var settings = Settings(seed: 1);
        settings.CancellationToken = new CancellationToken(canceled: true);
        Assert.ThrowsExactly<OperationCanceledException>(() => Run(ml, Data(ml, 24, seed: 1), settings));

        var trained = 0;
        settings = Settings(seed: 1);
        settings.BeforeTrial = _ => trained++;
        var e = Assert.ThrowsExactly<ArgumentException>(() => new LmuClassificationExperiment(ml, settings).Execute(Data(ml, 24, seed: 1), featuresColumnName: "Label"));
        StringAssert.Contains(e.Message, "'Label'");
        e = Assert.ThrowsExactly<ArgumentException>(() => new LmuClassificationExperiment(ml, settings).Execute(Data(ml, 24, seed: 1), channels: 3));
        StringAssert.Contains(e.Message, "channels = 3");
        // One class: the column and the class are named, as the classifier names them (QA: neither was).
        var oneClass = FeaturizerData.Load(ml, Rows(24, seed: 1).Where(r => r.Label == "up").ToList(), Steps);
        e = Assert.ThrowsExactly<ArgumentException>(() => new LmuClassificationExperiment(ml, settings).Execute(oneClass));
        StringAssert.Contains(e.Message, "LMU experiment: label column 'Label' has 1 distinct class(es) in the training data ('up'); classification needs at least 2.");
        Assert.AreEqual(0, trained);

        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new LmuClassificationExperiment(ml, new LmuExperimentSettings { Rungs = 0 })).Message, "Rungs");
        StringAssert.Contains(
            Assert.ThrowsExactly<ArgumentException>(() => new LmuClassificationExperiment(ml, new LmuExperimentSettings { SearchSpace = new LmuSearchSpace { Order = new(9, 3) } })).Message,
            "Order");

        // QA: Rungs = 16 drew 14.3 million configurations (33 s, 1.1 GB) before the budget was looked at, Rungs = 20 ran out
        // of memory; a network order of 1,500 built its memory for 214 s past a 5 s budget. Refused at once, saying why.
        var clock = Stopwatch.StartNew();
        Assert.AreEqual(
            "LmuExperimentSettings.Rungs and HalvingRate start each bracket with HalvingRate^(Rungs-1) configurations, at most 100,000 (or MaxConfigurations, when set, at most that), but Rungs 16 and HalvingRate 3 give 1.43E+07; use fewer rungs or a smaller rate, or set MaxConfigurations. (Parameter 'Rungs')",
            Assert.ThrowsExactly<ArgumentException>(() => new LmuClassificationExperiment(ml, new LmuExperimentSettings { Rungs = 16 })).Message);
        StringAssert.Contains(
            Assert.ThrowsExactly<ArgumentException>(() => new LmuClassificationExperiment(ml, new LmuExperimentSettings { Rungs = 2, HalvingRate = int.MaxValue })).Message,
            "but Rungs 2 and HalvingRate 2147483647 give 2.15E+09");
        _ = new LmuClassificationExperiment(ml, new LmuExperimentSettings { Rungs = 11, HalvingRate = 3 });   // 59,049: allowed
        StringAssert.Contains(
            Assert.ThrowsExactly<ArgumentException>(() => new LmuClassificationExperiment(ml, new LmuExperimentSettings { SearchSpace = new LmuSearchSpace { Order = new(8, 1500) } })).Message,
            "LmuSearchSpace.Order must lie in [1, 512] but is [8, 1500]: each network's order-q memory is built by a q x q matrix exponential that the budget cannot interrupt");
        _ = new LmuClassificationExperiment(ml, new LmuExperimentSettings { SearchSpace = new LmuSearchSpace { Order = new(8, 512) } });
        // Limits on what is never drawn are not imposed (review): a capped search, a search without networks.
        _ = new LmuClassificationExperiment(ml, new LmuExperimentSettings { Rungs = 16, MaxConfigurations = 5 });
        _ = new LmuClassificationExperiment(ml, new LmuExperimentSettings { SearchSpace = new LmuSearchSpace { Order = new(8, 1500), Families = [LmuModelFamily.PooledRidge] } });
        Assert.IsTrue(clock.Elapsed < TimeSpan.FromSeconds(5), $"refused in {clock.Elapsed.TotalSeconds:F1} s");
    }

    [TestMethod]
    public void RowsOfOneValueGetADefaultThatRuns()
    {
        // QA: over 1-step, 1-channel rows the default (pooled, rows z-scored) was refused, since a z-score of one value
        // is always 0, and the search had no default to fall back on.
        var ml = new MLContext(seed: 1);
        var rng = new Random(5);
        var rows = Enumerable.Range(0, 30).Select(i => new SeqRow { Features = [(float)((i % 2 == 0 ? 1 : -1) + (0.3 * rng.NextDouble()))], Length = 1, Label = i % 2 == 0 ? "up" : "down" });
        var settings = new LmuExperimentSettings
        {
            Seed = 1, MaxConfigurations = 1, MaxExperimentTimeInSeconds = 120, CrossValidationRepeats = 1,
            SearchSpace = new LmuSearchSpace { Families = [LmuModelFamily.PooledRidge] },
        };
        var result = new LmuClassificationExperiment(ml, settings).Execute(FeaturizerData.Load(ml, rows, 1));
        var first = result.Trials[0];
        Assert.AreEqual(LmuTrialStatus.Completed, first.Status, first.Error);
        Assert.AreEqual(Lmu.MLNet.Featurize.LmuFeatureNormalization.None, ((LmuPooledRidgeConfiguration)first.Configuration).Normalization);
        Assert.IsGreaterThan(0.9, first.Metric!.Value, "the sign of the one value is the class");
    }

    [TestMethod]
    public void ALabelOfTheWrongTypeNamesTheDataItIsIn()
    {
        // QA: a float label in the validation data alone was refused as if the training data were at fault.
        var ml = new MLContext(seed: 1);
        var data = Data(ml, 24, seed: 1);
        var floatLabel = ml.Transforms.DropColumns("Label").Append(ml.Transforms.CopyColumns("Label", "Length")).Fit(data).Transform(data);
        var e = Assert.ThrowsExactly<ArgumentException>(() => new LmuClassificationExperiment(ml, Settings(seed: 2)).Execute(data, validationData: floatLabel));
        StringAssert.StartsWith(e.Message, "LMU experiment: label column 'Label' of the validation data must be text or a key with key values but is Single;");
        Assert.AreEqual("validationData", e.ParamName);
        e = Assert.ThrowsExactly<ArgumentException>(() => new LmuClassificationExperiment(ml, Settings(seed: 2)).Execute(floatLabel));
        StringAssert.StartsWith(e.Message, "LMU experiment: label column 'Label' of the training data must be text or a key");
        Assert.AreEqual("labelColumn", e.ParamName);
    }

    [TestMethod]
    public void TheAbortTokenStopsTheRefitAndTheCallersTokenSaysWhatItStopped()
    {
        // QA: the refit on all rows ran 669 s past a 5 s budget, and the way to stop it that the docs named,
        // MLContext.CancelExecution, is internal to ML.NET. AbortToken stops it; here it is cancelled the moment the
        // refit is announced, so a refit that ignored it would return a model.
        var ml = new MLContext(seed: 1);
        var data = Data(ml, 24, seed: 1);
        using var stop = new CancellationTokenSource();
        using var abort = new CancellationTokenSource();
        var settings = Settings(seed: 2);
        settings.CancellationToken = stop.Token;
        settings.AbortToken = abort.Token;
        settings.Progress = new SyncProgress(_ => stop.Cancel());
        var refitAnnounced = false;
        ml.Log += (_, e) =>
        {
            if (e.Message.Contains("refitting the best configuration", StringComparison.Ordinal))
            {
                refitAnnounced = true;
                abort.Cancel();
            }
        };
        var e = Assert.ThrowsExactly<OperationCanceledException>(() => Run(ml, data, settings));
        Assert.IsTrue(refitAnnounced, "the search was stopped and the refit began");
        StringAssert.StartsWith(e.Message, "LMU experiment: aborted (LmuExperimentSettings.AbortToken) after 1 trials, while the best configuration was refitted or assembled; no model is returned.");

        // Aborted before Execute: nothing trains.
        var trained = 0;
        settings = Settings(seed: 2);
        settings.AbortToken = abort.Token;
        settings.BeforeTrial = _ => trained++;
        Assert.AreEqual("LMU experiment: aborted (LmuExperimentSettings.AbortToken) before Execute; nothing was trained.", Assert.ThrowsExactly<OperationCanceledException>(() => Run(ml, data, settings)).Message);
        Assert.AreEqual(0, trained);

        // The caller's token before any trial completed: said so (QA: "The operation was canceled." alone).
        settings = Settings(seed: 2);
        settings.CancellationToken = stop.Token;
        StringAssert.StartsWith(
            Assert.ThrowsExactly<OperationCanceledException>(() => Run(new MLContext(seed: 1), data, settings)).Message,
            "LMU experiment: cancelled (LmuExperimentSettings.CancellationToken) before any trial completed");
    }

    [TestMethod]
    public void SettingsChangedAfterTheConstructorAnEmptyValidationSetAndAHugeBudgetAreHandledBeforeTraining()
    {
        // Found by QA: a budget changed to -5 after the constructor failed as 'delay', a null SearchSpace as a
        // NullReferenceException, an empty validation set scored every trial NaN and chose a model on that.
        var ml = new MLContext(seed: 1);
        var trained = 0;
        var settings = Settings(seed: 1);
        settings.BeforeTrial = _ => trained++;
        var experiment = new LmuClassificationExperiment(ml, settings);
        settings.MaxExperimentTimeInSeconds = -5;
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => experiment.Execute(Data(ml, 24, seed: 1))).Message, "MaxExperimentTimeInSeconds");
        settings.MaxExperimentTimeInSeconds = 120;
        settings.SearchSpace = null!;
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => experiment.Execute(Data(ml, 24, seed: 1))).Message, "SearchSpace");
        settings.SearchSpace = Settings(seed: 1).SearchSpace;
        var empty = FeaturizerData.Load(ml, [], Steps);
        var e = Assert.ThrowsExactly<ArgumentException>(() => experiment.Execute(Data(ml, 24, seed: 1), validationData: empty));
        StringAssert.Contains(e.Message, "validation data has no rows");
        Assert.AreEqual(0, trained);

        // A budget longer than a timer holds (4.3e6 s failed in CancelAfter, 1e12 s overflowed TimeSpan): no timer,
        // MaxConfigurations bounds the search.
        foreach (var budget in new[] { 3e6, 5e6, 1e12, double.MaxValue })
        {
            settings.MaxExperimentTimeInSeconds = budget;
            var result = experiment.Execute(Data(ml, 24, seed: 1));
            Assert.IsTrue(result.Trials.All(t => t.Status == LmuTrialStatus.Completed), $"budget {budget}");
        }
    }

    [TestMethod]
    public void SettingsChangedWhileTheSearchRunsDoNotReachIt()
    {
        // Found by QA: Execute read the caller's settings object as trials ran, so a metric changed after the first
        // trial ranked accuracies and log-losses together, and BatchSize = 0 failed the later trials in .NET's words.
        var ml = new MLContext(seed: 1);
        var data = Data(ml, 48, seed: 2);
        var untouched = Run(ml, data, Settings(seed: 5));

        var settings = Settings(seed: 5);
        var reports = 0;
        settings.Progress = new SyncProgress(_ =>
        {
            if (++reports == 1)
            {
                settings.OptimizingMetric = LmuExperimentMetric.LogLoss;
                settings.BatchSize = 0;
                settings.Rungs = 1;
                settings.SearchSpace.Order = new(40, 60);
                settings.SearchSpace.Cells = [HiddenCell.Lstm];
            }
        });
        var changed = Run(ml, data, settings);
        Assert.IsGreaterThan(1, reports);
        Assert.HasCount(untouched.Trials.Count, changed.Trials);
        for (var i = 0; i < untouched.Trials.Count; i++)
        {
            Assert.AreEqual(LmuTrialStatus.Completed, changed.Trials[i].Status, $"trial {i}");
            Assert.AreEqual(untouched.Trials[i].Configuration, changed.Trials[i].Configuration, $"trial {i}");
            Assert.AreEqual(untouched.Trials[i].Metric, changed.Trials[i].Metric, $"trial {i}: the metric the run began with");
        }
    }

    [TestMethod]
    public void APreprocessingThatKeysTheLabelGivesAModelOfTheRawLabels()
    {
        // Types QA: MapValueToKey("Label") as the preprocessing (what the refusal of a Boolean label advises) was given
        // the key the experiment had made of the raw label, and Execute failed after its whole search: "Could not apply
        // a map over type 'String' to column 'Label'" (text), "must be of type 'Boolean'" (bool), "Column 'L2' not found"
        // (keyed into another column).
        var ml = new MLContext(seed: 1);
        var settings = Settings(seed: 2);
        settings.MaxConfigurations = 1;
        settings.Rungs = 1;
        var rows = Rows(24, seed: 1);
        var text = FeaturizerData.Load(ml, rows, Steps);
        var keyed = new LmuClassificationExperiment(ml, settings).Execute(text, preprocessing: ml.Transforms.Conversion.MapValueToKey("Label"));
        CollectionAssert.AreEquivalent(new[] { "down", "up" }, keyed.Model.Transform(text).GetColumn<ReadOnlyMemory<char>>("PredictedLabel").Select(l => l.ToString()).Distinct().ToArray());
        Assert.AreEqual(24, keyed.Evaluate(ml, text).ConfusionMatrix.Counts.Sum(r => r.Sum()), "Evaluate reads the raw text labels");
        (keyed.Model as IDisposable)?.Dispose();

        var other = new LmuClassificationExperiment(ml, settings).Execute(text, labelColumnName: "L2", preprocessing: ml.Transforms.Conversion.MapValueToKey("L2", "Label"));
        CollectionAssert.AreEquivalent(new[] { "down", "up" }, other.Model.Transform(text).GetColumn<ReadOnlyMemory<char>>("PredictedLabel").Select(l => l.ToString()).Distinct().ToArray());
        (other.Model as IDisposable)?.Dispose();

        var flags = ml.Data.LoadFromEnumerable(rows.Select(r => new BoolRow { Features = r.Features, Label = r.Label == "up" }));
        var fromBool = new LmuClassificationExperiment(ml, settings).Execute(flags, preprocessing: ml.Transforms.Conversion.MapValueToKey("Label"));
        // The classes are the key's values as text (as the classifier names a key label's classes).
        var predicted = fromBool.Model.Transform(flags).GetColumn<ReadOnlyMemory<char>>("PredictedLabel").Select(l => l.ToString()).ToArray();
        Assert.HasCount(24, predicted);
        CollectionAssert.IsSubsetOf(predicted.Distinct().ToArray(), fromBool.ClassNames.ToArray());
        Assert.HasCount(2, fromBool.ClassNames);
        (fromBool.Model as IDisposable)?.Dispose();
    }

    private sealed class BoolRow
    {
        [VectorType(Steps)]
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }

    [TestMethod]
    public void RowsWithoutALabelAreLeftOutAndTooFewRowsPerClassAreRefusedBeforeAnyTrial()
    {
        // Found by QA: an empty text label became a class "" that was trained and predicted; a missing key was refused.
        var ml = new MLContext(seed: 1);
        var rows = Rows(24, seed: 1);
        var labelled = Run(ml, FeaturizerData.Load(ml, rows, Steps), Settings(seed: 2));
        foreach (var i in new[] { 0, 3, 7 })
        {
            rows[i].Label = string.Empty;
        }

        var withMissing = Run(ml, FeaturizerData.Load(ml, rows, Steps), Settings(seed: 2));
        CollectionAssert.AreEqual(new[] { "down", "up" }, withMissing.ClassNames.ToArray());
        Assert.IsTrue(withMissing.Trials.All(t => t.Status == LmuTrialStatus.Completed));
        Assert.AreNotEqual(labelled.Trials[0].Metric, withMissing.Trials[0].Metric, "the unlabelled rows were left out, so the folds differ");
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(FeaturizerData.Load(ml, Rows(24, seed: 1), Steps));
        var missingKeys = Run(ml, keyed.Transform(FeaturizerData.Load(ml, rows, Steps)), Settings(seed: 2));
        Assert.IsTrue(missingKeys.Trials.All(t => t.Status == LmuTrialStatus.Completed), "rows mapped to the missing key are left out, not refused");

        rows.ForEach(r => r.Label = string.Empty);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => Run(ml, FeaturizerData.Load(ml, rows, Steps), Settings(seed: 2))).Message,
            "the training data has no labelled rows (24 rows, label column 'Label')");

        // One row per class: a hold-out split leaves one class to train on. Refused before any trial (QA: every trial
        // failed and the experiment blamed its budget).
        var trained = 0;
        var settings = Settings(seed: 2);
        settings.BeforeTrial = _ => trained++;
        var e = Assert.ThrowsExactly<ArgumentException>(() => Run(ml, FeaturizerData.Load(ml, Rows(2, seed: 1), Steps), settings));
        StringAssert.Contains(e.Message, "the training data has 2 rows in 2 classes, too few for a hold-out of ValidationFraction = 0.2: no split leaves both a row to validate on and two classes to train on");
        StringAssert.Contains(e.Message, "Give more rows of each class, a larger ValidationFraction, or validationData.");
        Assert.AreEqual(0, trained);

        // More values than one array holds: refused with the counts before any row's features are read or a trial runs
        // (QA, read in the code: the int product of rows and width overflowed unchecked).
        var huge = FeaturizerData.Load(ml, Rows(3, seed: 1), 1_000_000_000);
        e = Assert.ThrowsExactly<ArgumentException>(() => Run(ml, huge, settings));
        StringAssert.Contains(e.Message, "LMU experiment: the training data's 3 labelled rows of 1,000,000,000 values (3,000,000,000 in all, 12.0 GB as float32) exceed the");
        StringAssert.Contains(e.Message, "run it on a sample of the rows");
        Assert.AreEqual(0, trained);
    }

    [TestMethod]
    public void AHoldOutValidatesAFoldDrawnWithTheSeed()
    {
        // Found by QA: a hold-out always validated fold 0, where a class's first row sat whatever the seed, so a class of
        // one row was validated in every repeat and never trained on. The fold is drawn per repeat now, among those that
        // leave two classes to train on; the deal (and so the hold-out's size) is unchanged (review: dealing each class
        // from fold 1 instead shrank the hold-out and refused data the old deal took).
        var ml = new MLContext(seed: 1);
        var rows = Rows(20, seed: 1);
        rows.Add(new SeqRow { Features = rows[0].Features, Length = Steps, Label = "z" });
        var data = FeaturizerData.Load(ml, rows, Steps);
        int validatedZ = 0, holdOuts = 0;
        for (var seed = 1; seed <= 4; seed++)
        {
            var settings = LmuExperimentPooledTests.Both(seed, maxConfigurations: 1);
            settings.SearchSpace.Families = [LmuModelFamily.PooledRidge];
            settings.StartWithDefault = true;
            settings.DefaultOverride = new LmuPooledRidgeConfiguration(4, 8, 5, Lmu.MLNet.Featurize.LmuFeatureNormalization.ZScorePerRow, seed);
            settings.CrossValidationFolds = 0;
            settings.CrossValidationRepeats = 5;
            settings.MaxExperimentTimeInSeconds = 3600;
            var seen = new Dictionary<int, int[]>();
            settings.FoldMetricOverride = (_, fold, valid, metric) =>
            {
                seen[fold] = valid.ToArray();
                return metric;
            };
            Run(ml, data, settings);
            Assert.HasCount(5, seen, $"seed {seed}: one hold-out per repeat");
            foreach (var valid in seen.Values)
            {
                holdOuts++;
                // 21 rows dealt over 5 folds: 4 or 5 rows held out, as before.
                Assert.IsTrue(valid.Length is 4 or 5, $"seed {seed}: {valid.Length} rows held out");
                validatedZ += valid.Contains(20) ? 1 : 0;
            }
        }

        Assert.AreEqual(20, holdOuts);
        Assert.IsGreaterThan(0, validatedZ, "the one-row class is held out in some repeats");
        Assert.IsTrue(validatedZ < holdOuts, $"and trained on in the others ({validatedZ} of {holdOuts} held it out)");
    }

    [TestMethod]
    public void TheContextsCancelExecutionStopsTheSearchAndSaysSo()
    {
        // Found in review: the experiment never read the context's flag, ran its whole budget, then lost the result when
        // ML.NET's own transforms threw on the cancelled context.
        var cancel = typeof(MLContext).GetMethod("CancelExecution", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic);
        Assert.IsNotNull(cancel, "ML.NET renamed CancelExecution");
        var data = Data(new MLContext(seed: 1), 24, seed: 1);

        var before = new MLContext(seed: 1);
        cancel.Invoke(before, null);
        var trained = 0;
        var settings = Settings(seed: 2);
        settings.BeforeTrial = _ => trained++;
        StringAssert.Contains(Assert.Throws<OperationCanceledException>(() => Run(before, data, settings)).Message,
            "LMU experiment: the MLContext was cancelled (MLContext.CancelExecution) before Execute; nothing was trained.");
        Assert.AreEqual(0, trained);

        // A search bounded by its budget alone (60 s), cancelled at its first report: it stops within a poll of the flag
        // and a trial, not at the end of the budget (the bound leaves a slow machine half the budget).
        // Its preprocessing (a featurizer with a temp file) is disposed with the rest: nothing is left for a finalizer
        // (review: the fitted preprocessing waited for one).
        var temp = Directory.CreateTempSubdirectory("lmu-experiment-cancel-").FullName;
        try
        {
            var during = new MLContext(seed: 1) { TempFilePath = temp };
            settings = Settings(seed: 2);
            settings.MaxConfigurations = 0;
            settings.MaxExperimentTimeInSeconds = 60;
            settings.Progress = new SyncProgress(_ => cancel.Invoke(during, null));
            var clock = Stopwatch.StartNew();
            var e = Assert.Throws<OperationCanceledException>(() => new LmuClassificationExperiment(during, settings)
                .Execute(data, preprocessing: during.Transforms.LmuFeaturize(new LmuFeaturizerOptions { OutputColumnName = "Features", Order = 4, WindowPositions = [4, 8, 12] })));
            StringAssert.Contains(e.Message, "LMU experiment: cancelled through its MLContext (MLContext.CancelExecution) after ");
            Assert.IsTrue(clock.Elapsed < TimeSpan.FromSeconds(30), $"the search went on for {clock.Elapsed.TotalSeconds:F1} s after the cancellation");
            Assert.IsEmpty(Directory.GetFiles(temp, "*", SearchOption.AllDirectories), "files left in the context's temp folder");
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    [TestMethod]
    public void AProgressHandlerThatThrowsDoesNotEndTheSearch()
    {
        // Found by QA: the exception ended Execute, lost the search and left the kept candidates' ONNX files behind.
        var ml = new MLContext(seed: 1);
        var reports = 0;
        var settings = Settings(seed: 2);
        settings.RefitOnAllData = false;
        settings.Progress = new SyncProgress(_ =>
        {
            if (++reports == 2)
            {
                throw new InvalidOperationException("handler bug");
            }
        });
        var result = Run(ml, Data(ml, 48, seed: 2), settings);
        Assert.AreEqual(result.Trials.Count, reports, "every trial still reported");
        Assert.IsTrue(result.Trials.All(t => t.Status == LmuTrialStatus.Completed));
        Assert.IsNotNull(result.Model);
    }

    [TestMethod]
    public void TheScanStateBudgetReachesEveryTrialAndIsValidated()
    {
        // SimpleRnn cells over 16 steps train through the last-step scan, which keeps every state within the budget
        // and checkpoints every 8 steps past it: a budget of 0 must make the trials (and the refit) recompute.
        var ml = new MLContext(seed: 1);
        var data = Data(ml, 24, seed: 4);
        (long Checkpointed, LmuExperimentResult Result) Measure(int budgetMiB)
        {
            var settings = Settings(seed: 2);
            settings.SearchSpace.Cells = [HiddenCell.SimpleRnn];
            settings.ScanStateBudgetMiB = budgetMiB;
            long before = LinearScanLastFunction.CheckpointedPasses;
            var result = Run(ml, data, settings);
            return (LinearScanLastFunction.CheckpointedPasses - before, result);
        }

        var kept = Measure(1024);
        var recomputed = Measure(0);
        Assert.AreEqual(0, kept.Checkpointed, "the default budget recomputed states that fit");
        Assert.IsGreaterThan(0L, recomputed.Checkpointed, "a budget of 0 did not reach the trials' training");
        Assert.HasCount(kept.Result.Trials.Count, recomputed.Result.Trials);
        for (var i = 0; i < kept.Result.Trials.Count; i++)
        {
            Assert.AreEqual(kept.Result.Trials[i].Configuration, recomputed.Result.Trials[i].Configuration, $"trial {i}: the budget changed the search");
        }

        var e = Assert.ThrowsExactly<ArgumentException>(() => new LmuClassificationExperiment(ml, new LmuExperimentSettings { ScanStateBudgetMiB = -1 }));
        StringAssert.Contains(e.Message, "ScanStateBudgetMiB");
        StringAssert.Contains(e.Message, "-1");
    }

    private static LmuExperimentResult Run(MLContext ml, IDataView data, LmuExperimentSettings settings) =>
        new LmuClassificationExperiment(ml, settings).Execute(data);

    /// <summary>
    /// Small and fast: 3 configurations, 2 rungs, a narrow space of feed-forward (Dense) LMUs, networks only (these
    /// tests count rungs and epochs; LmuExperimentPooledTests covers the pooled family).
    /// </summary>
    internal static LmuExperimentSettings Settings(int seed) => new()
    {
        Seed = seed,
        MaxConfigurations = 3,
        MaxExperimentTimeInSeconds = 120,
        // One repeat: these tests count the halving's trials (LmuExperimentSelectionTests covers repeats and finalists).
        CrossValidationRepeats = 1,
        Rungs = 2,
        HalvingRate = 3,
        BatchSize = 16,
        SearchSpace = new LmuSearchSpace
        {
            Families = [LmuModelFamily.LmuNetwork],
            Order = new(4, 12),
            MemoryD = new(1, 2),
            HiddenUnits = new(8, 16),
            Cells = [HiddenCell.Dense],
            LearningRate = new(5e-3, 3e-2, LogScale: true),
            Epochs = new(9, 15),
        },
    };

    internal static IDataView Data(MLContext ml, int count, int seed) => FeaturizerData.Load(ml, Rows(count, seed), Steps);

    private static List<SeqRow> Rows(int count, int seed)
    {
        var rng = new Random(seed);
        var rows = new List<SeqRow>();
        for (var i = 0; i < count; i++)
        {
            // Rising vs falling trend under a random offset and noise.
            var offset = rng.NextDouble() * 2 - 1;
            var slope = (i % 2 == 0 ? 1 : -1) * (0.5 + rng.NextDouble()) / Steps;
            var x = Enumerable.Range(0, Steps).Select(t => (float)(offset + slope * t + 0.2 * (rng.NextDouble() - 0.5))).ToArray();
            rows.Add(new SeqRow { Features = x, Length = Steps, Label = i % 2 == 0 ? "up" : "down" });
        }

        return rows;
    }

    /// <summary>Progress&lt;T&gt; posts to the thread pool; tests need the reports synchronously.</summary>
    internal sealed class SyncProgress(Action<LmuTrialResult> report) : IProgress<LmuTrialResult>
    {
        public void Report(LmuTrialResult value) => report(value);
    }
}
