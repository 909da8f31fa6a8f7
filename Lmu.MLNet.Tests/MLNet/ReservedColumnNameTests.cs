using Lmu.MLNet.Classification;
using Lmu.MLNet.Tests.MLNet.Classification;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet;

/// <summary>
/// Columns named as the fitted models name their own intermediate columns are refused before training (found by QA: the
/// classifier dropped a user column named "lmu.PredictedIndex" from its output without a word, and trained fully on a
/// features column of that name before ONNX Runtime refused a "Duplicate definition"; an in-place featurizer dropped a
/// user column named "Features.lmu"); and the classifier's GetOutputSchema refuses a label type its Fit refuses.
/// </summary>
[TestClass]
public sealed class ReservedColumnNameTests : ClassifierTestBase
{
    [TestMethod]
    public void TheClassifierRefusesColumnsNamedAsItsOwn()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        foreach (var name in new[] { "lmu.PredictedIndex", "lmu.PredictedClassHash", "lmu.PredictedClass", "lmu.PredictedClassValue" })
        {
            var withColumn = ml.Transforms.CopyColumns(name, "Features").Fit(ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(12, 1)));
            var view = withColumn.Transform(ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(12, 1)));
            var estimator = ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 1));
            var fit = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => estimator.Fit(view));
            StringAssert.Contains(fit.Message, $"Column '{name}' has a name the LMU classifier uses for its own columns");
            var shape = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => estimator.GetOutputSchema(Lmu.MLNet.SchemaShapes.FromSchema(view.Schema)));
            StringAssert.Contains(shape.Message, $"Column '{name}' has a name the LMU classifier uses for its own columns");
        }

        var options = ClassifierSetup.Parallel(epochs: 1);
        options.FeatureColumnName = "lmu.PredictedIndex";
        var renamed = ml.Transforms.CopyColumns("lmu.PredictedIndex", "Features").Append(ml.Transforms.DropColumns("Features"))
            .Fit(ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(12, 1))).Transform(ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(12, 1)));
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.LmuClassifier(options).Fit(renamed));
        StringAssert.Contains(e.Message, "Column 'lmu.PredictedIndex' has a name the LMU classifier uses for its own columns");
        AssertNoTempFiles();
    }

    [TestMethod]
    public void TheFittedClassifierAndRidgeRefuseSuchColumnsAtScoringAndRidgeAtTraining()
    {
        // QA: training refused the names, but at scoring a column named "lmu.PredictedIndex" was dropped from the
        // output without a word; Ridge, whose chain uses the same names, did not refuse them at all.
        var ml = ClassifierSetup.Context(MlTemp);
        var rows = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(12, 1));
        var withColumn = ml.Transforms.CopyColumns("lmu.PredictedIndex", "Features").Fit(rows).Transform(rows);
        using var classifier = ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 1)).Fit(rows);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => classifier.Transform(withColumn)).Message,
            "Column 'lmu.PredictedIndex' has a name the LMU classifier uses for its own columns");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => classifier.GetOutputSchema(withColumn.Schema));

        var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(rows).Transform(rows);
        var ridge = ml.MulticlassClassification.Trainers.Ridge().Fit(keyed);
        var keyedWithColumn = ml.Transforms.CopyColumns("lmu.PredictedClass", "Features").Fit(keyed).Transform(keyed);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ridge.Transform(keyedWithColumn)).Message,
            "Column 'lmu.PredictedClass' has a name the RidgeClassifier uses for its own columns");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.Ridge().Fit(keyedWithColumn)).Message,
            "Column 'lmu.PredictedClass' has a name the RidgeClassifier uses for its own columns");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.Ridge().GetOutputSchema(Lmu.MLNet.SchemaShapes.FromSchema(keyedWithColumn.Schema)));
        Assert.AreEqual(12, ridge.Transform(keyed).GetColumn<uint>("PredictedLabel").Count(), "other data still scores");
    }

    [TestMethod]
    public void TheClassifiersOutputSchemaRefusesALabelTypeItsFitRefuses()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var view = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 4).Select(i => new NumberLabelRow { Label = i % 2, Features = new float[DelayedPatternData.Steps] }));
        var estimator = ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 1));
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => estimator.GetOutputSchema(Lmu.MLNet.SchemaShapes.FromSchema(view.Schema)));
        StringAssert.Contains(e.Message, "Label column 'Label' is Scalar of Single; expected a scalar key (MapValueToKey), text or boolean.");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => estimator.Fit(view));
    }

    [TestMethod]
    public void AnInPlaceFeaturizerRefusesAColumnNamedAsItsOutput()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var view = ml.Transforms.CopyColumns("Features.lmu", "Features").Fit(ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(12, 1)))
            .Transform(ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(12, 1)));
        var featurize = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.LmuFeaturize("Features", "Features", order: 4).Fit(view));
        StringAssert.Contains(featurize.Message, "LmuFeaturize: column 'Features.lmu' has the name the in-place featurizer uses for its own output");
        var pooled = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.LmuPooledFeaturize(new Lmu.MLNet.Featurize.LmuPooledFeaturizerOptions { InputColumnName = "Features", OutputColumnName = "Features", Order = 4, Windows = 2, ProjectionsPerWindow = 2, Seed = 1 }).Fit(view));
        StringAssert.Contains(pooled.Message, "LmuPooledFeaturize: column 'Features.lmu' has the name the in-place featurizer uses for its own output");
        AssertNoTempFiles();
    }

    private sealed class NumberLabelRow
    {
        public float Label { get; set; }

        [VectorType(DelayedPatternData.Steps)]
        public float[] Features { get; set; } = [];
    }
}
