using Lmu.MLNet.Experiments;
using Lmu.MLNet.Featurize;
using Lmu.MLNet.Forecasting;
using Lmu.MLNet.Ridge;
using Lmu.MLNet.Tests.MLNet.Classification;
using Lmu.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet;

/// <summary>
/// ML.NET's OnnxTransformer skips graph inputs and outputs named "mlnet.*.unusedInput" or "mlnet.*.unusedOutput" (the
/// names its own ONNX export gives values nothing reads), and every fitted model here is carried by one. A column so
/// named, read or written by the graph, made the featurizers fail with "Index was outside the bounds of the array" and
/// the classifier fail so after its training (found by QA); each estimator now refuses it before any training, from
/// Fit and from GetOutputSchema. Also the forecaster's GetOutputSchema checks column types as its Fit does.
/// </summary>
[TestClass]
public sealed class SkippedOnnxColumnNameTests : ClassifierTestBase
{
    private const string Skipped = "has a name ML.NET's OnnxTransformer skips";

    [TestMethod]
    public void TheClassifierAndRidgeRefuseSuchFeatureAndScoreColumns()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var rows = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(12, 1));
        var renamed = ml.Transforms.CopyColumns("mlnet.Lmu.unusedOutput", "Features").Fit(rows).Transform(rows);
        var trained = false;

        var options = ClassifierSetup.Parallel(epochs: 1);
        options.Progress = new Inline(_ => trained = true);
        options.FeatureColumnName = "mlnet.Lmu.unusedOutput";
        var estimator = ml.Transforms.LmuClassifier(options);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => estimator.Fit(renamed)).Message,
            $"LMU classifier: the features column 'mlnet.Lmu.unusedOutput' {Skipped}");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => estimator.GetOutputSchema(Lmu.MLNet.SchemaShapes.FromSchema(renamed.Schema))).Message, Skipped);

        options = ClassifierSetup.Parallel(epochs: 1);
        options.Progress = new Inline(_ => trained = true);
        options.ScoreColumnName = "mlnet.Score.unusedInput";
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.Lmu(options).Fit(rows)).Message,
            $"LMU classifier: the score column 'mlnet.Score.unusedInput' {Skipped}");
        Assert.IsFalse(trained, "refused before the first epoch");

        var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(renamed).Transform(renamed);
        var ridge = ml.MulticlassClassification.Trainers.Ridge(new RidgeClassifierOptions { FeatureColumnName = "mlnet.Lmu.unusedOutput" });
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ridge.Fit(keyed)).Message,
            $"RidgeClassifier: the features column 'mlnet.Lmu.unusedOutput' {Skipped}");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ridge.GetOutputSchema(Lmu.MLNet.SchemaShapes.FromSchema(keyed.Schema))).Message, Skipped);

        var settings = new LmuExperimentSettings { MaxExperimentTimeInSeconds = 60, BeforeTrial = _ => trained = true };
        StringAssert.Contains(
            Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new LmuClassificationExperiment(ml, settings).Execute(renamed, featuresColumnName: "mlnet.Lmu.unusedOutput")).Message,
            $"LMU experiment: the features column 'mlnet.Lmu.unusedOutput' {Skipped}");
        Assert.IsFalse(trained, "no trial started");
        AssertNoTempFiles();
    }

    [TestMethod]
    public void TheFeaturizersRefuseSuchInputOutputAndLengthColumnsButNotNamesOnlyAlike()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var rows = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(12, 1));
        var renamed = ml.Transforms.CopyColumns("mlnet.x.unusedOutput", "Features").Fit(rows).Transform(rows);
        foreach (var (input, output, role) in new[] { ("mlnet.x.unusedOutput", "Out", "input"), ("Features", "mlnet.Out.unusedOutput", "output") })
        {
            var featurize = ml.Transforms.LmuFeaturize(output, input, order: 4);
            StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => featurize.Fit(renamed)).Message,
                $"LmuFeaturize: the {role} column '{(role == "input" ? input : output)}' {Skipped}");
            StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => featurize.GetOutputSchema(Lmu.MLNet.SchemaShapes.FromSchema(renamed.Schema))).Message, Skipped);
            var pooled = ml.Transforms.LmuPooledFeaturize(new LmuPooledFeaturizerOptions { InputColumnName = input, OutputColumnName = output, Order = 4, Windows = 2, ProjectionsPerWindow = 2, Seed = 1 });
            StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => pooled.Fit(renamed)).Message,
                $"LmuPooledFeaturize: the {role} column '{(role == "input" ? input : output)}' {Skipped}");
        }

        var lengthOptions = new LmuFeaturizerOptions { InputColumnName = "Features", OutputColumnName = "Out", Order = 4, LengthColumnName = "mlnet.n.unusedInput" };
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.LmuFeaturize(lengthOptions).Fit(rows)).Message,
            $"LmuFeaturize: the length column 'mlnet.n.unusedInput' {Skipped}");

        // Only the whole pattern is ML.NET's: these names are read and written as any other.
        foreach (var name in new[] { "mlnet.Features", "Features.unusedOutput", "MLNET.x.unusedOutput" })
        {
            var view = ml.Transforms.CopyColumns(name, "Features").Fit(rows).Transform(rows);
            using var fitted = ml.Transforms.LmuFeaturize(name + " out", name, order: 4).Fit(view);
            Assert.AreEqual(DelayedPatternData.Rows(12, 1).Count, fitted.Transform(view).GetColumn<float[]>(name + " out").Count(), name);
        }

        AssertNoTempFiles();
    }

    [TestMethod]
    public void TheForecasterRefusesSuchColumnsAndItsOutputSchemaChecksTypesAsFitDoes()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var options = new LmuForecastingOptions { SeriesColumnName = "Value", WindowSize = 8, Horizon = 2, OutputColumnName = "mlnet.Forecast.unusedOutput", Training = new LmuTrainingOptions { Epochs = 1 } };
        var series = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 40).Select(i => new SingleValue { Value = MathF.Sin(i) }));
        var estimator = ml.Forecasting.ForecastByLmu(options);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => estimator.Fit(series)).Message,
            $"ForecastByLmu: the forecast column 'mlnet.Forecast.unusedOutput' {Skipped}");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => estimator.GetOutputSchema(Lmu.MLNet.SchemaShapes.FromSchema(series.Schema))).Message, Skipped);

        // QA: a Double (or text) series passed GetOutputSchema, so a chain's check said a pipeline was fine that Fit refuses.
        options.OutputColumnName = "Forecast";
        var doubles = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 40).Select(i => new DoubleValue { Value = Math.Sin(i) }));
        var shape = Assert.ThrowsExactly<ArgumentException>(() => ml.Forecasting.ForecastByLmu(options).GetOutputSchema(Lmu.MLNet.SchemaShapes.FromSchema(doubles.Schema)));
        Assert.AreEqual("The series column 'Value' is Scalar of Double; expected Single.", shape.Message);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.Forecasting.ForecastByLmu(options).Fit(doubles)).Message,
            "The series column 'Value' has type Double; expected Single.");
        Assert.IsNotNull(ml.Forecasting.ForecastByLmu(options).GetOutputSchema(Lmu.MLNet.SchemaShapes.FromSchema(series.Schema)).FirstOrDefault(c => c.Name == "Forecast").Name);

        options.SeriesColumnName = null;
        options.WindowColumnName = "Value";
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.Forecasting.ForecastByLmu(options).GetOutputSchema(Lmu.MLNet.SchemaShapes.FromSchema(series.Schema))).Message,
            "The window column 'Value' is Scalar of Single; expected a fixed-size Vector<Single>.");
    }

    private sealed class SingleValue
    {
        public float Value { get; set; }
    }

    private sealed class DoubleValue
    {
        public double Value { get; set; }
    }
}
