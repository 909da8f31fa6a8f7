using Lmu.MLNet.Featurize;
using Lmu.MLNet.Ridge;
using Lmu.MLNet.Tests.MLNet.Featurize;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;

namespace Lmu.MLNet.Tests.MLNet;

/// <summary>
/// ExportOnnx of the featurizers and the ridge (the classifier's is in ClassifierPipelineTests, the forecaster's in
/// LmuForecasterTests): the documented signature, and each exported model run by ONNX Runtime directly, one row per
/// run, against ML.NET's Transform of the same rows. Bit-identical is required: the exported graph is the one
/// ML.NET's OnnxTransformer scores (rebuilt deterministically; for the ridge only output names differ), run one row
/// at a time by the same ONNX Runtime CPU kernels, and the graphs avoid ONNX Runtime's reductions, whose results
/// depended on buffer alignment.
/// </summary>
[TestClass]
public sealed class OnnxExportTests
{
    private const int Steps = 20;
    private const int Channels = 2;

    [TestMethod]
    public void FeaturizerExportScoresLikeTheTransform()
    {
        var ml = new MLContext(seed: 1);
        var rows = FeaturizerData.Random(6, Steps, Channels, seed: 5, scale: 2, offset: 1);
        for (var r = 0; r < rows.Count; r++)
        {
            // Rows shorter than the sequence exercise the length input (valid steps first, then padding).
            rows[r].Length = Steps - (3 * r);
        }

        var data = FeaturizerData.Load(ml, rows, Steps * Channels);
        using var model = ml.Transforms.LmuFeaturize(new LmuFeaturizerOptions
        {
            Channels = Channels, Order = 6, LengthColumnName = "Length", Normalization = LmuFeatureNormalization.ZScorePerChannel,
            WindowPositions = [10], DecodedDelays = [0.5],
        }).Fit(data);
        var expected = model.Transform(data).GetColumn<float[]>("LmuFeatures").ToArray();

        using var session = new InferenceSession(ExportedOnnx.Export(model));
        ExportedOnnx.AssertSignature(
            session,
            new Dictionary<string, ExportedOnnx.Value>
            {
                ["Features"] = new(typeof(float), Steps * Channels),
                ["Length"] = new(typeof(float), 1, 1),
            },
            new Dictionary<string, ExportedOnnx.Value> { ["LmuFeatures"] = new(typeof(float), model.OutputSize) },
            slotNamesOf: "LmuFeatures");
        for (var r = 0; r < rows.Count; r++)
        {
            using var result = ExportedOnnx.Run(session, [("Features", rows[r].Features, [Steps * Channels]), ("Length", [rows[r].Length], [1, 1])], "LmuFeatures");
            CollectionAssert.AreEqual(expected[r], result[0].GetTensorDataAsSpan<float>().ToArray(), $"row {r} must be bit-identical");
        }
    }

    [TestMethod]
    public void PooledFeaturizerExportScoresLikeTheTransformWithTheDocumentedInPlaceName()
    {
        var ml = new MLContext(seed: 1);
        var rows = FeaturizerData.Random(8, Steps, Channels, seed: 6, scale: 2, offset: 1);
        var data = FeaturizerData.Load(ml, rows, Steps * Channels);
        using var model = ml.Transforms.LmuPooledFeaturize(new LmuPooledFeaturizerOptions
        {
            OutputColumnName = "Features", Channels = Channels, Windows = 4, ProjectionsPerWindow = 5, Order = 5,
            Normalization = LmuFeatureNormalization.ZScorePerRow, Seed = 3,
        }).Fit(data);
        var expected = model.Transform(data).GetColumn<float[]>("Features").ToArray();

        using var session = new InferenceSession(ExportedOnnx.Export(model));
        // In place: ONNX names are unique, so the output is the documented "Features.lmu".
        ExportedOnnx.AssertSignature(
            session,
            new Dictionary<string, ExportedOnnx.Value> { ["Features"] = new(typeof(float), Steps * Channels) },
            new Dictionary<string, ExportedOnnx.Value> { ["Features.lmu"] = new(typeof(float), model.OutputSize) },
            slotNamesOf: "Features.lmu");
        for (var r = 0; r < rows.Count; r++)
        {
            using var result = ExportedOnnx.Run(session, [("Features", rows[r].Features, [Steps * Channels])], "Features.lmu");
            CollectionAssert.AreEqual(expected[r], result[0].GetTensorDataAsSpan<float>().ToArray(), $"row {r} must be bit-identical");
        }
    }

    [TestMethod]
    public void RidgeExportScoresLikeTheTransformWithPlainClassifierNames()
    {
        var ml = new MLContext(seed: 1);
        var rows = FeaturizerData.Random(30, 6, 1, seed: 9);
        var labels = new[] { "a", "b", "c" };
        for (var r = 0; r < rows.Count; r++)
        {
            // Learnable but not separable: the class follows the sign pattern of two features, with label noise.
            rows[r].Label = r < 3 ? labels[r] : labels[(rows[r].Features[0] > 0 ? 1 : 0) + (rows[r].Features[1] > 0.5f ? 1 : 0)];
        }

        var data = FeaturizerData.Load(ml, rows, 6);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.Ridge());
        var fitted = pipeline.Fit(data);
        var ridge = (RidgeClassifierTransformer)fitted.LastTransformer;
        var scored = fitted.Transform(data);
        var scores = scored.GetColumn<float[]>("Score").ToArray();
        var keys = scored.GetColumn<uint>("PredictedLabel").ToArray();

        using var session = new InferenceSession(ExportedOnnx.Export(ridge));
        ExportedOnnx.AssertSignature(
            session,
            new Dictionary<string, ExportedOnnx.Value> { ["Features"] = new(typeof(float), 6) },
            new Dictionary<string, ExportedOnnx.Value>
            {
                ["Score"] = new(typeof(float), 3),
                ["PredictedIndex"] = new(typeof(long), 1),
                ["PredictedLabel"] = new(typeof(string), 1),
            },
            slotNamesOf: "Score");
        for (var r = 0; r < rows.Count; r++)
        {
            using var result = ExportedOnnx.Run(session, [("Features", rows[r].Features, [6])], "Score", "PredictedIndex", "PredictedLabel");
            CollectionAssert.AreEqual(scores[r], result[0].GetTensorDataAsSpan<float>().ToArray(), $"row {r} Score must be bit-identical");
            // ML.NET's PredictedLabel is key k+1 for class index k.
            Assert.AreEqual((long)keys[r] - 1, result[1].GetTensorDataAsSpan<long>()[0], $"row {r} PredictedIndex");
            Assert.AreEqual(ridge.Classes[(int)keys[r] - 1], result[2].GetStringTensorAsArray()[0], $"row {r} PredictedLabel");
        }

        (fitted as IDisposable)?.Dispose();
    }
}
