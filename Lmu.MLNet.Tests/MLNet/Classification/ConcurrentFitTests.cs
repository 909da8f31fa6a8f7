using Lmu.MLNet.Classification;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Classification;

/// <summary>
/// Fits that run at the same time reproduce the Fit run alone: QA found two concurrent Fits with <c>new MLContext(seed:
/// 1)</c> disagreeing with each other and with the solo Fit, because both drew initial weights and dropout masks from
/// torch's one default generator.
/// </summary>
[TestClass]
public sealed class ConcurrentFitTests : ClassifierTestBase
{
    [TestMethod]
    [Timeout(300_000, CooperativeCancellation = true)]
    public void TwoConcurrentSeededFitsEqualTheSoloFitBitForBit()
    {
        var rows = DelayedPatternData.Rows(48, 41);
        var test = DelayedPatternData.Rows(12, 42);
        float[][] Fit(int? seed)
        {
            var ml = ClassifierSetup.Context(MlTemp);
            // Dropout in the layer, the recurrent cell and the head: every mask comes from the run's seed stream.
            var options = new LmuClassifierOptions
            {
                Layer = new LmuLayerOptions { Order = 8, HiddenCell = HiddenCell.SimpleRnn, HiddenUnits = 8, HiddenToMemory = true, Dropout = 0.2, RecurrentDropout = 0.2 },
                HeadHiddenSizes = [8],
                HeadDropout = 0.2,
                Training = new LmuTrainingOptions { Epochs = 3, BatchSize = 16, LearningRate = 1e-2, Seed = seed },
            };
            using var model = ml.Transforms.LmuClassifier(options).Fit(ml.Data.LoadFromEnumerable(rows));
            return model.Transform(ml.Data.LoadFromEnumerable(test)).GetColumn<float[]>("Score").ToArray();
        }

        var solo = Fit(seed: null);
        for (var round = 0; round < 2; round++)
        {
            using var start = new Barrier(2);
            var results = new float[2][][];
            var threads = Enumerable.Range(0, 2).Select(t => new Thread(() =>
            {
                start.SignalAndWait();
                results[t] = Fit(seed: null);
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            for (var t = 0; t < 2; t++)
            {
                for (var i = 0; i < test.Count; i++)
                {
                    CollectionAssert.AreEqual(solo[i], results[t][i], $"round {round}, thread {t}, row {i}: a concurrent Fit must equal the solo Fit");
                }
            }
        }

        // And the run's seed decides: another seed gives other scores (the comparison above can fail).
        var other = Fit(seed: 12345);
        Assert.IsFalse(Enumerable.Range(0, test.Count).All(i => other[i].SequenceEqual(solo[i])), "another seed must give other scores");
    }
}
