using Lmu.MLNet.Classification;
using Lmu.MLNet.Experiments;
using Lmu.MLNet.Tests.Infrastructure;
using Lmu.MLNet.Tests.MLNet.Featurize;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Experiments;

/// <summary>
/// The experiment on a channel-major features column (what <c>Concatenate</c> of one column per channel makes): every
/// row of a step-major data set and its channel-major twin must give the same trials and a model that scores the
/// twins alike, for each family's model.
/// </summary>
[TestClass]
public sealed class LmuExperimentLayoutTests
{
    private const int Steps = 24, Channels = 2;

    [TestMethod]
    [DataRow(LmuModelFamily.LmuNetwork)]
    [DataRow(LmuModelFamily.PooledRidge)]
    public void ChannelMajorTwinsGiveTheSameTrialsAndTheSameScores(LmuModelFamily family)
    {
        var ml = new MLContext(seed: 1);
        var (train, trainTwin) = Twins(ml, 36, seed: 1);
        var (test, testTwin) = Twins(ml, 40, seed: 2);
        var stepMajor = new LmuClassificationExperiment(ml, Settings(family)).Execute(train, channels: Channels);
        var channelMajor = new LmuClassificationExperiment(ml, Settings(family)).Execute(trainTwin, channels: Channels, inputLayout: LmuInputLayout.ChannelMajor);

        Assert.IsTrue(stepMajor.Trials.All(t => t.Family == family && t.Status == LmuTrialStatus.Completed), string.Join("; ", stepMajor.Trials));
        Assert.HasCount(stepMajor.Trials.Count, channelMajor.Trials);
        for (var i = 0; i < stepMajor.Trials.Count; i++)
        {
            Assert.AreEqual(stepMajor.Trials[i].Configuration, channelMajor.Trials[i].Configuration, $"trial {i}");
            // The same rows after the read, so the same trainings: equal metrics, not merely close ones.
            Assert.AreEqual(stepMajor.Trials[i].Metric, channelMajor.Trials[i].Metric, $"trial {i} metric");
        }

        var expected = Scores(stepMajor.Model.Transform(test));
        var actual = Scores(channelMajor.Model.Transform(testTwin));
        var accuracy = stepMajor.Evaluate(ml, test).MicroAccuracy;
        // The scores must say something, or equal scores would prove little: which channel steps up is easy to read.
        Assert.IsGreaterThan(0.8, accuracy, $"{family}: test accuracy {accuracy}");
        for (var i = 0; i < expected.Count; i++)
        {
            for (var k = 0; k < expected[i].Length; k++)
            {
                // The same model on the same rows once the graph has transposed them; 1e-6 allows float32 summation order.
                Assert.AreEqual(expected[i][k], actual[i][k], 1e-6, $"{family}: row {i}, class {k}");
            }
        }
    }

    [TestMethod]
    public void AnUndefinedLayoutIsRefusedBeforeAnyTraining()
    {
        var ml = new MLContext(seed: 1);
        var (train, _) = Twins(ml, 12, seed: 1);
        var e = Assert.ThrowsExactly<ArgumentException>(
            () => new LmuClassificationExperiment(ml, Settings(LmuModelFamily.LmuNetwork)).Execute(train, channels: Channels, inputLayout: (LmuInputLayout)7));
        Assert.AreEqual("inputLayout", e.ParamName);
        StringAssert.Contains(e.Message, "7");
    }

    [TestMethod]
    public void ANaNInTheFeaturesIsRefusedBeforeAnyTrial()
    {
        // QA: every network trial diverged and the search spent its whole budget (800 failed trials), blaming the
        // learning rate, where the classifier alone names the value before training.
        var ml = new MLContext(seed: 1);
        var rows = Enumerable.Range(0, 12).Select(i => new SeqRow { Features = Enumerable.Repeat(i % 2 == 0 ? 0.1f : 0.9f, Steps * Channels).ToArray(), Length = Steps, Label = i % 2 == 0 ? "a" : "b" }).ToList();
        rows[5].Features[3] = float.NaN;
        var experiment = new LmuClassificationExperiment(ml, Settings(LmuModelFamily.LmuNetwork));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var e = Assert.ThrowsExactly<InvalidDataException>(() => experiment.Execute(FeaturizerData.Load(ml, rows, Steps * Channels), channels: Channels));
        StringAssert.Contains(e.Message, "features column 'Features', training row 5, slot 3: value NaN; expected a finite number");
        Bound.Below(5.0, clock.Elapsed.TotalSeconds, "refused before any trial, not after a budget of failures");
    }

    [TestMethod]
    public void MoreFoldsThanRowsAreRefused()
    {
        // Accepted before: the first trial spent the budget and the never-scored default came back (found by QA).
        var ml = new MLContext(seed: 1);
        var (train, _) = Twins(ml, 12, seed: 1);
        var settings = Settings(LmuModelFamily.LmuNetwork);
        settings.CrossValidationFolds = 100;
        var e = Assert.ThrowsExactly<ArgumentException>(() => new LmuClassificationExperiment(ml, settings).Execute(train, channels: Channels));
        StringAssert.Contains(e.Message, "CrossValidationFolds = 100 is more than the 12 training rows");
    }

    [TestMethod]
    public void ATrialPrintsItsFoldMetrics()
    {
        // Progress<LmuTrialResult>(Console.WriteLine) printed "FoldMetrics = System.Collections.Generic.List`1[...]" (found by QA).
        var trial = new LmuTrialResult(3, new LmuPooledRidgeConfiguration(5, 10, 8, LmuFeatureNormalization.ZScorePerRow, 1), 0, 0, LmuTrialStatus.Completed, 0.75, TimeSpan.FromSeconds(2), null)
        {
            FoldMetrics = [0.5, 1.0],
            MetricStandardError = 0.25,
        };
        var text = trial.ToString();
        StringAssert.Contains(text, "FoldMetrics = [0.5, 1], MetricStandardError = 0.25");
        StringAssert.StartsWith(text, "LmuTrialResult { TrialId = 3, Configuration = pooled-ridge windows=5 projections=10");
        Assert.IsFalse(text.Contains("List`1", StringComparison.Ordinal), text);
    }

    private static LmuExperimentSettings Settings(LmuModelFamily family)
    {
        var settings = LmuExperimentPooledTests.Both(seed: 4, maxConfigurations: 3);
        settings.SearchSpace.Families = [family];
        return settings;
    }

    private static List<float[]> Scores(IDataView scored) =>
        scored.GetColumn<VBuffer<float>>(scored.Schema["Score"]).Select(v => v.DenseValues().ToArray()).ToList();

    /// <summary>
    /// Two-channel rows, step-major, whose channel 0 ("first") or 1 ("second") steps up by 0.6 at a random step in the
    /// second half and stays there, and the same rows channel-major (each channel's 24 steps one after another).
    /// </summary>
    private static (IDataView StepMajor, IDataView ChannelMajor) Twins(MLContext ml, int count, int seed)
    {
        var rng = new Random(seed);
        var rows = new List<SeqRow>();
        var twins = new List<SeqRow>();
        for (var i = 0; i < count; i++)
        {
            var channel = i % 2;
            var x = new float[Steps * Channels];
            for (var j = 0; j < x.Length; j++) x[j] = (float)(0.2 * (rng.NextDouble() - 0.5));
            var at = rng.Next(Steps / 2, Steps - 4);
            for (var t = at; t < Steps; t++) x[(t * Channels) + channel] += 0.6f;
            var twin = new float[x.Length];
            for (var t = 0; t < Steps; t++)
                for (var c = 0; c < Channels; c++) twin[(c * Steps) + t] = x[(t * Channels) + c];
            var label = channel == 0 ? "first" : "second";
            rows.Add(new SeqRow { Features = x, Length = Steps, Label = label });
            twins.Add(new SeqRow { Features = twin, Length = Steps, Label = label });
        }

        return (FeaturizerData.Load(ml, rows, Steps * Channels), FeaturizerData.Load(ml, twins, Steps * Channels));
    }
}
