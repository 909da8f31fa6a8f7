using Lmu.MLNet.Featurize;
using Lmu.MLNet.Tests.MLNet.Classification;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Featurize;

/// <summary>
/// Rows no model can read, scored where the fitted transformer's row checks do not run: a loaded zip and the exported
/// graph took a length of 3.7 as 3, and 0, -5 or NaN as no steps, and gave plausible features (a class that flipped);
/// the pooled featurizer without normalisation gave finite features for a row with NaN or an infinity in a step (found
/// by QA). Such rows get NaN features now, in every runtime; every other row's features stay bit for bit.
/// </summary>
[TestClass]
public sealed class UnreadableRowTests : ClassifierTestBase
{
    private const int Steps = 12;

    public static IEnumerable<object[]> Featurizers()
    {
        yield return ["LmuFeaturize", new LmuFeaturizerOptions { OutputColumnName = "P", Order = 5, LengthColumnName = "Length" }];
        yield return ["LmuPooledFeaturize", new LmuPooledFeaturizerOptions { OutputColumnName = "P", Windows = 3, ProjectionsPerWindow = 4, Order = 4, LengthColumnName = "Length", Seed = 1 }];
        yield return ["LmuPooledFeaturize, no normalisation", new LmuPooledFeaturizerOptions
        {
            OutputColumnName = "P", Windows = 3, ProjectionsPerWindow = 4, Order = 4, LengthColumnName = "Length", Seed = 1, Normalization = LmuFeatureNormalization.None,
        }];
    }

    [TestMethod]
    [DynamicData(nameof(Featurizers))]
    public void ALoadedFeaturizerGivesNaNForALengthNoModelReads(string name, object options)
    {
        var ml = new MLContext(seed: 1);
        var train = FeaturizerData.Load(ml, FeaturizerData.Random(8, Steps, 1, seed: 3), Steps);
        var estimator = options switch
        {
            LmuFeaturizerOptions o => (IEstimator<ITransformer>)ml.Transforms.LmuFeaturize(o),
            LmuPooledFeaturizerOptions o => ml.Transforms.LmuPooledFeaturize(o),
            _ => throw new ArgumentException(name),
        };
        var fitted = estimator.Fit(train);
        var path = Path.Combine(Temp, $"featurizer-{Guid.NewGuid():N}.zip");
        LmuModelFile.Save(ml, fitted, train.Schema, path);
        var loaded = LmuModelFile.Load(new MLContext(), path, out _);
        try
        {
            float[] bad = [0f, -5f, float.NaN, Steps + 1f, 1000f, 3.7f, float.PositiveInfinity];
            float[] good = [1f, 5f, Steps];
            var rows = FeaturizerData.Random(bad.Length + good.Length, Steps, 1, seed: 4);
            for (var r = 0; r < rows.Count; r++)
            {
                rows[r].Length = r < bad.Length ? bad[r] : good[r - bad.Length];
            }

            var scored = loaded.Transform(FeaturizerData.Load(ml, rows, Steps)).GetColumn<float[]>("P").ToArray();
            for (var r = 0; r < bad.Length; r++)
            {
                Assert.IsTrue(scored[r].All(float.IsNaN), $"{name}, length {bad[r]}: [{string.Join(", ", scored[r])}]");
            }

            // The rows a model reads: what the fitted transformer gives, bit for bit.
            var readable = rows.Skip(bad.Length).ToList();
            var expected = fitted.Transform(FeaturizerData.Load(ml, readable, Steps)).GetColumn<float[]>("P").ToArray();
            for (var r = 0; r < good.Length; r++)
            {
                CollectionAssert.AreEqual(expected[r], scored[bad.Length + r], $"{name}, length {good[r]}");
            }
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
            (fitted as IDisposable)?.Dispose();
        }
    }

    [TestMethod]
    public void ANonFiniteStepGivesNaNPooledFeaturesWithoutNormalisation()
    {
        // The counts of positive values skip a NaN and the maxima ignore it: without a normalisation to spread it over
        // the row, such a row scored as if the step were not there.
        var ml = new MLContext(seed: 1);
        var options = new LmuPooledFeaturizerOptions
        {
            OutputColumnName = "P", Windows = 3, ProjectionsPerWindow = 4, Order = 4, LengthColumnName = "Length", Seed = 1, Normalization = LmuFeatureNormalization.None,
        };
        using var fitted = (IDisposable)ml.Transforms.LmuPooledFeaturize(options).Fit(FeaturizerData.Load(ml, FeaturizerData.Random(8, Steps, 1, seed: 3), Steps));
        var model = (ITransformer)fitted;
        var rows = FeaturizerData.Random(5, Steps, 1, seed: 5);
        rows[0].Features[5] = float.NaN;
        rows[1].Features[5] = float.PositiveInfinity;
        rows[2].Features[5] = float.NegativeInfinity;
        // Past the row's length a NaN is never read: the row scores as with any other value there.
        rows[3].Length = 4;
        rows[3].Features[8] = float.NaN;
        rows[4].Length = 4;
        Array.Copy(rows[3].Features, rows[4].Features, Steps);
        rows[4].Features[8] = 0.5f;
        var scored = model.Transform(FeaturizerData.Load(ml, rows, Steps)).GetColumn<float[]>("P").ToArray();
        for (var r = 0; r < 3; r++)
        {
            Assert.IsTrue(scored[r].All(float.IsNaN), $"row {r} ({rows[r].Features[5]} at step 5): [{string.Join(", ", scored[r])}]");
        }

        Assert.IsTrue(scored[3].All(float.IsFinite), $"a NaN past the length: [{string.Join(", ", scored[3])}]");
        CollectionAssert.AreEqual(scored[4], scored[3]);
    }
}
