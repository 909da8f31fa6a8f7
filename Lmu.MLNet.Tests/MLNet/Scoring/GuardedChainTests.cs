using Lmu.MLNet.Scoring;
using Lmu.MLNet.Tests.MLNet.Featurize;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace Lmu.MLNet.Tests.MLNet.Scoring;

/// <summary>
/// What <c>LmuModelFile.Load</c> returns is ML.NET's own chain with only its ONNX scorers guarded: an ML.NET trainer
/// behind an LMU featurizer keeps its prediction transformer type (a review found every disposable element wrapped,
/// which hid the trainer from LastTransformer, casts and permutation feature importance).
/// </summary>
[TestClass]
public sealed class GuardedChainTests
{
    [TestMethod]
    [Timeout(120_000, CooperativeCancellation = true)]
    public void AnMLNetTrainerBehindAnLmuFeaturizerKeepsItsTypeAndScoresAsAPlainLoad()
    {
        var folder = Path.Combine(Path.GetTempPath(), "lmu-chain-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            Run(folder);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static void Run(string folder)
    {
        var ml = new MLContext(1) { TempFilePath = folder };
        const int steps = 16;
        var rows = FeaturizerData.Random(40, steps, 1, seed: 3);
        for (var i = 0; i < rows.Count; i++)
        {
            rows[i].Label = i % 2 == 0 ? "up" : "down";
            for (var t = 0; t < steps; t++) rows[i].Features[t] += (i % 2 == 0 ? 1 : -1) * t / 8f;
        }

        var data = FeaturizerData.Load(ml, rows, steps);
        var pipeline = ml.Transforms.LmuFeaturize("Memory", "Features", order: 4)
            .Append(ml.Transforms.Conversion.MapValueToKey("Label"))
            .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy("Label", "Memory", maximumNumberOfIterations: 20));
        var zip = Path.Combine(folder, "m.zip");
        using (var fitted = pipeline.Fit(data))
        {
            LmuModelFile.Save(ml, fitted, data.Schema, zip);
        }

        var plain = ml.Model.Load(zip, out _);
        var loaded = LmuModelFile.Load(ml, zip, out _);
        try
        {
            var chain = (TransformerChain<ITransformer>)loaded;
            Assert.IsInstanceOfType<MulticlassPredictionTransformer<MaximumEntropyModelParameters>>(chain.LastTransformer, "the trainer's own type");
            Assert.AreEqual(1, Flatten(loaded).OfType<GuardedTransformer>().Count(), "the featurizer's ONNX scorer, and only it, is guarded");
            var expected = plain.Transform(data).GetColumn<float[]>("Score").ToArray();
            var actual = loaded.Transform(data).GetColumn<float[]>("Score").ToArray();
            for (var i = 0; i < expected.Length; i++)
            {
                CollectionAssert.AreEqual(expected[i], actual[i], $"row {i}");
            }
        }
        finally
        {
            (plain as IDisposable)?.Dispose();
            (loaded as IDisposable)?.Dispose();
        }
    }

    private static IEnumerable<ITransformer> Flatten(ITransformer t) => t is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [t];
}
