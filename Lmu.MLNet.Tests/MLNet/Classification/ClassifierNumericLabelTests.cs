using Lmu.MLNet.Classification;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Classification;

/// <summary>
/// Numeric labels (1/2 as Single) used to train and then make MulticlassClassification.Evaluate read the values as
/// class indices: 0.5067 reported for a true accuracy of 0.4933. Now they are refused before training with the fix
/// spelled out, and the fix (MapValueToKey) gives metrics equal to a count done here.
/// </summary>
[TestClass]
public sealed class ClassifierNumericLabelTests : ClassifierTestBase
{
    public sealed class NumericLabelRow
    {
        public float Label { get; set; }

        [VectorType(DelayedPatternData.Steps)]
        public float[] Features { get; set; } = [];
    }

    [TestMethod]
    public void ASingleLabelIsRefusedBeforeTrainingWithTheMapValueToKeyAdvice()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var data = ml.Data.LoadFromEnumerable(Rows(48, 1));
        var trained = 0;
        var options = ClassifierSetup.Parallel(epochs: 1);
        options.Progress = new Progress<Lmu.MLNet.Training.LmuEpochReport>(_ => trained++);
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.LmuClassifier(options).Fit(data));
        StringAssert.Contains(e.Message, "'Label'");
        StringAssert.Contains(e.Message, "Single");
        StringAssert.Contains(e.Message, "MapValueToKey(\"Label\")");
        e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.Lmu(ClassifierSetup.Parallel(epochs: 1)).Fit(data));
        StringAssert.Contains(e.Message, "MapValueToKey");
        Assert.AreEqual(0, trained, "nothing may train");
        AssertNoTempFiles();
    }

    [TestMethod]
    public void WithMapValueToKeyTheMetricsAreTheTrueAccuracy()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var rows = Rows(96, 2);
        var data = ml.Data.LoadFromEnumerable(rows);
        using var model = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 2)))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedValue", "PredictedLabel"))
            .Fit(data);
        var scored = model.Transform(data);
        var metrics = ml.MulticlassClassification.Evaluate(scored);

        // Accuracy counted here from the predicted values mapped back (the key's values are the class names as text).
        var predicted = scored.GetColumn<string>("PredictedValue").Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var truth = rows.Select(r => r.Label).ToArray();
        double correct = predicted.Zip(truth).Count(p => p.First == p.Second);
        Assert.AreEqual(correct / truth.Length, metrics.MicroAccuracy, 1e-12, "Evaluate must agree with the count");
        CollectionAssert.IsSubsetOf(predicted.Distinct().ToArray(), new[] { 1f, 2f }, "PredictedLabel maps back to the label's own values");
    }

    private static List<NumericLabelRow> Rows(int count, int seed) =>
        DelayedPatternData.Rows(count, seed).Select(r => new NumericLabelRow { Label = r.Label == "up" ? 1f : 2f, Features = r.Features }).ToList();
}
