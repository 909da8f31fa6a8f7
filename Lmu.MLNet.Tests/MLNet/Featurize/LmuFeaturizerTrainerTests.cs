using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Featurize;

/// <summary>ML.NET trainers consume the featurizer's output, and the whole pipeline saves and reloads.</summary>
[TestClass]
public sealed class LmuFeaturizerTrainerTests
{
    private const int Steps = 40;

    [TestMethod]
    public void LightGbmAndSdcaLearnFromTheMemoryAndThePipelineReloads()
    {
        var ml = new MLContext(seed: 1);
        var train = FeaturizerData.Load(ml, Rows(120, seed: 1), Steps);
        var test = FeaturizerData.Load(ml, Rows(80, seed: 2), Steps);
        var featurize = ml.Transforms.LmuFeaturize("LmuFeatures", "Features", order: 8, normalization: LmuFeatureNormalization.ZScorePerRow);
        var labels = ml.Transforms.Conversion.MapValueToKey("Label");
        var lightGbm = labels.Append(featurize)
            .Append(ml.MulticlassClassification.Trainers.LightGbm("Label", "LmuFeatures", numberOfIterations: 30, minimumExampleCountPerLeaf: 5));
        var sdca = labels.Append(featurize)
            .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy("Label", "LmuFeatures", maximumNumberOfIterations: 30));

        foreach (var (name, pipeline) in new (string, IEstimator<ITransformer>)[] { ("LightGbm", lightGbm), ("Sdca", sdca) })
        {
            var model = pipeline.Fit(train);
            var scored = model.Transform(test);
            var accuracy = ml.MulticlassClassification.Evaluate(scored).MicroAccuracy;
            // Three shapes (sine, square, ramp) with jittered phase, random amplitude and noise: chance is 1/3; the memory's Legendre
            // coefficients separate them easily, so a broken featurizer (zeros, wrong steps) falls far below 0.9.
            Assert.IsGreaterThan(0.9, accuracy, $"{name} accuracy {accuracy}");

            using var stream = new MemoryStream();
            ml.Model.Save(model, train.Schema, stream);
            stream.Position = 0;
            var loaded = new MLContext(seed: 5).Model.Load(stream, out _);
            CollectionAssert.AreEqual(
                scored.GetColumn<float[]>("Score").SelectMany(v => v).ToArray(),
                loaded.Transform(test).GetColumn<float[]>("Score").SelectMany(v => v).ToArray(),
                $"{name}: reloaded scores differ");
        }
    }

    private static List<SeqRow> Rows(int count, int seed)
    {
        var rng = new Random(seed);
        var rows = new List<SeqRow>();
        for (var i = 0; i < count; i++)
        {
            var kind = i % 3;
            var phase = rng.NextDouble() * 0.5;
            var scale = 0.5 + rng.NextDouble();
            var x = new float[Steps];
            for (var t = 0; t < Steps; t++)
            {
                var a = 2 * Math.PI * t / 20 + phase;
                var v = kind switch { 0 => Math.Sin(a), 1 => Math.Sign(Math.Sin(a)), _ => (a % (2 * Math.PI)) / Math.PI - 1 };
                x[t] = (float)(scale * v + 0.1 * (rng.NextDouble() - 0.5));
            }

            rows.Add(new SeqRow { Features = x, Length = Steps, Label = kind.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }

        return rows;
    }
}
