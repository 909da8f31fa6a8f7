using Lmu.MLNet.Tests.MLNet.Classification;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>
/// Library level, the way a service holds a loaded model: two PredictionEngines over ONE loaded zip share its ONNX
/// Runtime session, so an engine must not own the model (<c>OwnsTransformer = false</c>). Disposing one engine leaves
/// the other predicting exactly what it predicted before (and what batch scoring gives); the model's owner disposes the
/// model once, at the end.
/// </summary>
[TestClass]
public sealed class SharedModelEngineTests : ClassifierTestBase
{
    [TestMethod]
    [Timeout(180_000, CooperativeCancellation = true)]
    public void DisposingOneEngineOfASharedModelLeavesTheOtherPredictingTheSameValues()
    {
        var served = ServedClassifierZip.Create(Temp, MlTemp, rowCount: 8);
        var ml = ClassifierSetup.Context(MlTemp);
        var model = LmuModelFile.Load(ml, served.Zip, out _);
        try
        {
            var options = new PredictionEngineOptions { OwnsTransformer = false };
            var first = ml.Model.CreatePredictionEngine<PatternRow, PatternPrediction>(model, options);
            using var second = ml.Model.CreatePredictionEngine<PatternRow, PatternPrediction>(model, options);
            var before = served.Rows.Select(r => second.Predict(r).Score.ToArray()).ToArray();
            CollectionAssert.AreEqual(served.Scores[0], first.Predict(served.Rows[0]).Score);

            first.Dispose();

            for (var i = 0; i < served.Rows.Count; i++)
            {
                var after = second.Predict(served.Rows[i]).Score;
                CollectionAssert.AreEqual(before[i], after, $"row {i} after the other engine was disposed");
                CollectionAssert.AreEqual(served.Scores[i], after, $"row {i} against batch scoring");
            }

            // The model itself is intact too: a new engine and batch scoring still work.
            using var third = ml.Model.CreatePredictionEngine<PatternRow, PatternPrediction>(model, options);
            CollectionAssert.AreEqual(served.Scores[1], third.Predict(served.Rows[1]).Score);
            var batch = model.Transform(ml.Data.LoadFromEnumerable(served.Rows)).GetColumn<float[]>("Score").ToArray();
            for (var i = 0; i < batch.Length; i++)
            {
                CollectionAssert.AreEqual(served.Scores[i], batch[i], $"row {i}: batch scoring after an engine was disposed");
            }
        }
        finally
        {
            (model as IDisposable)?.Dispose();
        }
    }
}
