using Lmu.MLNet.Classification;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Classification;

/// <summary>The fitted classifier inside ordinary ML.NET workflows: metrics, cross-validation, key mapping, engines, save/load.</summary>
[TestClass]
public sealed class ClassifierPipelineTests : ClassifierTestBase
{
    [TestMethod]
    public void EvaluateMapKeyToValueAndPredictionEnginesAgree()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var raw = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(300, 11));
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.MulticlassClassification.Trainers.Lmu(ClassifierSetup.Parallel()))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        var testRows = DelayedPatternData.Rows(60, 12);
        var test = ml.Data.LoadFromEnumerable(testRows);
        using var model = pipeline.Fit(raw);
        var scored = model.Transform(test);
        var metrics = ml.MulticlassClassification.Evaluate(scored);
        Assert.IsGreaterThanOrEqualTo(0.9, metrics.MicroAccuracy);
        Assert.AreEqual(3, metrics.ConfusionMatrix.NumberOfClasses);

        var text = scored.GetColumn<ReadOnlyMemory<char>>("PredictedLabel").Select(m => m.ToString()).ToArray();
        var correct = text.Zip(testRows).Count(p => p.First == p.Second.Label);
        Assert.AreEqual(metrics.MicroAccuracy, correct / (double)testRows.Count, 1e-12, "MapKeyToValue gives the class names Evaluate scored");

        var textEngine = ml.Model.CreatePredictionEngine<PatternRow, PatternTextPrediction>(model, new PredictionEngineOptions { OwnsTransformer = false });
        var lmu = model.OfType<LmuClassifierTransformer>().Single();
        var keyEngine = ml.Model.CreatePredictionEngine<PatternRow, PatternPrediction>(lmu, new PredictionEngineOptions { OwnsTransformer = false });
        var scores = scored.GetColumn<float[]>("Score").ToArray();
        for (var i = 0; i < 10; i++)
        {
            Assert.AreEqual(text[i], textEngine.Predict(testRows[i]).PredictedLabel, $"row {i}");
            var k = keyEngine.Predict(testRows[i]);
            Assert.AreEqual(text[i], lmu.Info.ClassNames[(int)k.PredictedLabel - 1], $"row {i}: uint key indexes the class names");
            CollectionAssert.AreEqual(scores[i], k.Score, $"row {i}: engine and batch scores are the same numbers");
        }

        // MapValueToKey sorts by occurrence: the first training row's label is key 1.
        Assert.AreEqual(DelayedPatternData.Classes[0], lmu.Info.ClassNames[0]);
    }

    [TestMethod]
    public void CrossValidateRunsEveryFold()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var (data, _) = ClassifierSetup.Keyed(ml, ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(360, 13)));
        var folds = ml.MulticlassClassification.CrossValidate(data, ml.MulticlassClassification.Trainers.Lmu(ClassifierSetup.Parallel()), numberOfFolds: 2);
        Assert.HasCount(2, folds);
        foreach (var fold in folds)
        {
            Assert.IsGreaterThanOrEqualTo(0.8, fold.Metrics.MicroAccuracy, $"fold {fold.Fold}: {fold.Metrics.MicroAccuracy:P1}");

            (fold.Model as IDisposable)?.Dispose();
        }
    }

    [TestMethod]
    public void SavedModelLoadsInANewContextWithIdenticalScoresAndNoTempFiles()
    {
        var zip = Path.Combine(Temp, "model.zip");
        var rows = DelayedPatternData.Rows(60, 14);
        float[][] before;
        uint[] beforeKeys;
        {
            var ml = ClassifierSetup.Context(MlTemp);
            var data = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(120, 15));
            using var model = ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 3)).Fit(data);
            var scored = model.Transform(ml.Data.LoadFromEnumerable(rows));
            before = scored.GetColumn<float[]>("Score").ToArray();
            beforeKeys = scored.GetColumn<uint>("PredictedLabel").ToArray();
            ml.Model.Save(model, data.Schema, zip);
        }

        AssertNoTempFiles();
        {
            var ml = ClassifierSetup.Context(MlTemp, seed: null);
            var loaded = LmuModelFile.Load(ml, zip, out var schema);
            Assert.IsInstanceOfType<TransformerChain<ITransformer>>(loaded, "a loaded model is ML.NET's own chain");
            Assert.AreEqual(DelayedPatternData.Steps, ((VectorDataViewType)schema["Features"].Type).Size);
            var scored = loaded.Transform(ml.Data.LoadFromEnumerable(rows));
            var after = scored.GetColumn<float[]>("Score").ToArray();
            CollectionAssert.AreEqual(beforeKeys, scored.GetColumn<uint>("PredictedLabel").ToArray());
            for (var i = 0; i < rows.Count; i++)
            {
                CollectionAssert.AreEqual(before[i], after[i], $"row {i} must be bit-identical");
            }

            using var engine = ml.Model.CreatePredictionEngine<PatternRow, PatternPrediction>(loaded);
            CollectionAssert.AreEqual(before[0], engine.Predict(rows[0]).Score);
        }

        AssertNoTempFiles();
    }

    [TestMethod]
    public void StandaloneOnnxScoresBatchesOutsideMLNetLikeTheModel()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var data = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(90, 16));
        using var model = ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 3)).Fit(data);
        var path = Path.Combine(Temp, "model.onnx");
        model.ExportOnnx(path);
        var rows = DelayedPatternData.Rows(20, 17);
        var flat = rows.SelectMany(r => r.Features).ToArray();
        var onnx = Onnx.OnnxRunner.Run(File.ReadAllBytes(path), "Features", flat, DelayedPatternData.Steps, "Score")["Score"];
        var names = Onnx.OnnxRunner.RunStrings(File.ReadAllBytes(path), "Features", flat, DelayedPatternData.Steps, "PredictedLabel");
        var mlScores = model.Transform(ml.Data.LoadFromEnumerable(rows)).GetColumn<float[]>("Score").ToArray();
        for (var i = 0; i < rows.Count; i++)
        {
            for (var k = 0; k < 3; k++)
            {
                // Batched vs one-row runs of the same graph: float32 reassociation only (1e-6 on probabilities).
                Assert.AreEqual(mlScores[i][k], onnx[(i * 3) + k], 1e-6, $"row {i} class {k}");
            }

            Assert.AreEqual(model.Info.ClassNames[Array.IndexOf(mlScores[i], mlScores[i].Max())], names[i]);
        }

        using var stream = new MemoryStream();
        model.SaveOnnx(stream);
        CollectionAssert.AreEqual(File.ReadAllBytes(path), stream.ToArray());
    }
}
