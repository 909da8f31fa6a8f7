using Lmu.MLNet.Tests.MLNet.Classification;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Scoring;

/// <summary>
/// A row whose array is shorter or longer than its column's declared size is refused naming the column and both sizes,
/// by the fitted model and by a model loaded from its zip, in a PredictionEngine and in Transform. ONNX Runtime's own
/// shape error named neither (found by QA).
/// </summary>
[TestClass]
public sealed class VectorSizeScoringTests
{
    private static readonly string Temp = Path.Combine(Path.GetTempPath(), "lmu-vector-size-" + Guid.NewGuid().ToString("N"));

    [ClassCleanup]
    public static void Cleanup()
    {
        if (Directory.Exists(Temp))
        {
            Directory.Delete(Temp, recursive: true);
        }
    }

    [TestMethod]
    public void AWrongSizedArrayIsRefusedNamingTheColumnAndBothSizes()
    {
        Directory.CreateDirectory(Temp);
        var ml = ClassifierSetup.Context(Temp);
        var rows = DelayedPatternData.Rows(30, 6);
        var width = rows[0].Features.Length;
        var data = ml.Data.LoadFromEnumerable(rows);
        using var fitted = ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 1)).Fit(data);
        var path = Path.Combine(Temp, "model.zip");
        LmuModelFile.Save(ml, fitted, data.Schema, path);
        using var loaded = (IDisposable)LmuModelFile.Load(ml, path, out _);

        foreach (var (model, what) in new[] { ((ITransformer)fitted, "fitted"), ((ITransformer)loaded, "loaded") })
        {
            foreach (var size in new[] { width - 4, width + 3 })
            {
                var bad = DelayedPatternData.Rows(3, 7);
                bad[1].Features = new float[size];
                using var engine = ml.Model.CreatePredictionEngine<PatternRow, ScoreRow>(model, new PredictionEngineOptions { OwnsTransformer = false });
                Assert.HasCount(3, engine.Predict(bad[0]).Score, $"{what}: a good row scores");
                var e = Assert.ThrowsExactly<ArgumentException>(() => engine.Predict(bad[1]), what);
                StringAssert.Contains(e.Message, $"Column 'Features'");
                StringAssert.Contains(e.Message, $"{size} values, but the column's type is Vector<Single, {width}>");

                var thrown = Assert.Throws<Exception>(() => model.Transform(ml.Data.LoadFromEnumerable(bad)).GetColumn<float[]>("Score").ToArray(), what);
                while (!thrown.Message.Contains("Column 'Features'", StringComparison.Ordinal) && thrown.InnerException is { } inner)
                {
                    thrown = inner;
                }

                StringAssert.Contains(thrown.Message, $"Column 'Features', row 1: {size} values", $"{what} Transform");
                StringAssert.EndsWith(thrown.Message, "through a PredictionEngine, that counts the calls the engine has served.", "what the row number counts");
            }
        }
    }

    public sealed class ScoreRow
    {
        public float[] Score { get; set; } = [];
    }
}
