using Lmu.MLNet.Classification;
using Lmu.MLNet.Modules;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Classification;

public sealed class ScalarFeatureRow
{
    public string Label { get; set; } = string.Empty;

    public float Features { get; set; }
}

public sealed class DoubleFeatureRow
{
    public string Label { get; set; } = string.Empty;

    [VectorType(DelayedPatternData.Steps)]
    public double[] Features { get; set; } = [];
}

public sealed class VectorLabelRow
{
    [VectorType(2)]
    public float[] Label { get; set; } = [];

    [VectorType(DelayedPatternData.Steps)]
    public float[] Features { get; set; } = [];
}

/// <summary>Every bad input gets a clear managed exception naming the column (expected vs actual) before training starts.</summary>
[TestClass]
public sealed class ClassifierBadInputTests : ClassifierTestBase
{
    private bool _trained;

    [TestMethod]
    public void MissingColumnsAreNamedWithTheAvailableOnes()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var data = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(30, 1));
        var options = Options();
        options.FeatureColumnName = "Signal";
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Fit(ml, data, options));
        StringAssert.Contains(e.Message, "features column 'Signal' was not found");
        StringAssert.Contains(e.Message, "'Features'");

        options = Options();
        options.LabelColumnName = "Class";
        e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Fit(ml, data, options));
        StringAssert.Contains(e.Message, "label column 'Class' was not found");
        Assert.IsFalse(_trained);
    }

    [TestMethod]
    public void WrongColumnTypesSayWhatWasExpected()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var scalar = ml.Data.LoadFromEnumerable([new ScalarFeatureRow { Label = "a", Features = 1 }]);
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Fit(ml, scalar, Options()));
        StringAssert.Contains(e.Message, "Features column 'Features' has type Single; expected Vector<Single>");

        var doubles = ml.Data.LoadFromEnumerable([new DoubleFeatureRow { Label = "a", Features = new double[DelayedPatternData.Steps] }]);
        e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Fit(ml, doubles, Options()));
        StringAssert.Contains(e.Message, "Vector<Double");

        var vectorLabel = ml.Data.LoadFromEnumerable([new VectorLabelRow { Label = [1, 2], Features = new float[DelayedPatternData.Steps] }]);
        e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Fit(ml, vectorLabel, Options()));
        StringAssert.Contains(e.Message, "Label column 'Label' has type Vector<Single, 2>; expected a key");

        // A [steps, channels] shape is refused naming how to flatten it (ML.NET QA: the featurizers read it silently).
        var definition = SchemaDefinition.Create(typeof(PatternRow));
        definition[nameof(PatternRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, DelayedPatternData.Steps / 2, 2);
        var shaped = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(6, 1), definition);
        e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Fit(ml, shaped, Options()));
        StringAssert.Contains(e.Message, $"expected a flat Vector<Single> of length x channels values. Flatten it (a VectorType of {DelayedPatternData.Steps} values;");
        StringAssert.Contains(e.Message, "with Channels = 2)");
        Assert.IsFalse(_trained);
    }

    [TestMethod]
    public void VectorSizeMustEqualLengthTimesChannels()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var data = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(30, 1));
        var options = Options();
        options.SequenceLength = 10;
        options.Channels = 2;
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Fit(ml, data, options));
        StringAssert.Contains(e.Message, "Features column 'Features' has 24 values per row; expected sequence length x channels = 10 x 2 = 20");

        options = Options();
        options.Channels = 5;
        e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Fit(ml, data, options));
        StringAssert.Contains(e.Message, "24 values per row, which is not a multiple of Channels = 5");
        Assert.IsFalse(_trained);
    }

    [TestMethod]
    [DataRow(float.NaN)]
    [DataRow(float.PositiveInfinity)]
    [DataRow(float.NegativeInfinity)]
    public void NonFiniteFeaturesAreRejectedWithRowAndSlot(float bad)
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var rows = DelayedPatternData.Rows(30, 1);
        rows[17].Features[5] = bad;
        var e = Assert.ThrowsExactly<InvalidDataException>(() => Fit(ml, ml.Data.LoadFromEnumerable(rows), Options()));
        StringAssert.Contains(e.Message, $"Features column 'Features', training row 17, slot 5 (step 5, channel 0): value {bad}");
        Assert.IsFalse(_trained);
    }

    [TestMethod]
    public void FewerThanTwoClassesAndEmptyDataAreRejected()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var rows = DelayedPatternData.Rows(30, 1).Where(r => r.Label == "up").ToList();
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => Fit(ml, ml.Data.LoadFromEnumerable(rows), Options()));
        StringAssert.Contains(e.Message, "Label column 'Label' has 1 distinct class(es) in the training data ('up'); a classifier needs at least 2");

        e = Assert.ThrowsExactly<InvalidOperationException>(() => Fit(ml, ml.Data.LoadFromEnumerable(new List<PatternRow>()), Options()));
        StringAssert.Contains(e.Message, "The training data has no rows");
        Assert.IsFalse(_trained);
    }

    [TestMethod]
    public void ALabelAbsentFromTheTrainingDataIsRejectedAtScoring()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var (train, _) = ClassifierSetup.Keyed(ml, ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(30, 1)));
        using var model = ml.MulticlassClassification.Trainers.Lmu(ClassifierSetup.Parallel(epochs: 1)).Fit(train);
        var rows = DelayedPatternData.Rows(8, 2);
        rows[3].Label = "sideways";
        var scoring = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(rows)).Transform(ml.Data.LoadFromEnumerable(rows));
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => model.Transform(scoring));
        StringAssert.Contains(e.Message, "Label column 'Label' is Key<4> but the model was trained on 3 classes [up, down, bump]");

        // The same with text labels in validation data: rejected before training.
        var options = Options();
        options.ValidationData = ml.Data.LoadFromEnumerable(rows);
        var e2 = Assert.ThrowsExactly<InvalidDataException>(() => Fit(ml, ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(30, 1)), options));
        StringAssert.Contains(e2.Message, "Label column 'Label', validation row 3: value 'sideways' is not one of the 3 training classes [bump, down, up]");
        Assert.IsFalse(_trained);
    }

    [TestMethod]
    public void CorruptedOrTruncatedZipsFailAtLoadNamingTheFile()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var data = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(30, 1));
        var zip = Path.Combine(Temp, "model.zip");
        using (var model = ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 1)).Fit(data))
        {
            ml.Model.Save(model, data.Schema, zip);
        }

        var bytes = File.ReadAllBytes(zip);
        var truncated = Path.Combine(Temp, "truncated.zip");
        File.WriteAllBytes(truncated, bytes.AsSpan(0, bytes.Length * 2 / 3).ToArray());
        var e = Assert.ThrowsExactly<InvalidDataException>(() => LmuModelFile.Load(ml, truncated, out _));
        StringAssert.Contains(e.Message, truncated);

        // Flip bytes in the middle (inside the deflated ONNX entry): CRC or ONNX parsing fails, never a native crash.
        var corrupted = Path.Combine(Temp, "corrupted.zip");
        var copy = bytes.ToArray();
        for (var i = copy.Length / 3; i < copy.Length / 3 + 64; i++) copy[i] ^= 0x5A;
        File.WriteAllBytes(corrupted, copy);
        e = Assert.ThrowsExactly<InvalidDataException>(() => LmuModelFile.Load(ml, corrupted, out _).Transform(data).GetColumn<float[]>("Score").ToArray());
        StringAssert.Contains(e.Message, corrupted);

        Assert.ThrowsExactly<FileNotFoundException>(() => LmuModelFile.Load(ml, Path.Combine(Temp, "absent.zip"), out _));
    }

    [TestMethod]
    public void InvalidOptionsFailWhenTheEstimatorIsMade()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var options = Options();
        options.Layer = new LmuLayerOptions { Order = 0 };
        var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.LmuClassifier(options));
        StringAssert.Contains(e.Message, "Order = 0");

        options = Options();
        options.ValidationFraction = 1;
        e = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.LmuClassifier(options));
        StringAssert.Contains(e.Message, "ValidationFraction = 1 must be in [0, 1)");

        // A bad nested training setting is named by its full path, so the user knows which object to fix.
        options = Options();
        options.Training.Epochs = 0;
        e = Assert.ThrowsExactly<ArgumentException>(() => ml.MulticlassClassification.Trainers.Lmu(options));
        StringAssert.Contains(e.Message, "LmuClassifierOptions.Training.Epochs = 0 must be at least 1");
        Assert.AreEqual("Training.Epochs", e.ParamName);

        options = Options();
        options.Training.EarlyStoppingPatience = 2;
        e = Assert.ThrowsExactly<ArgumentException>(() => Fit(ml, ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(30, 1)), options));
        StringAssert.Contains(e.Message, "LmuClassifierOptions.Training.EarlyStoppingPatience = 2 needs validation data");
        Assert.IsFalse(_trained);
    }

    private LmuClassifierOptions Options()
    {
        var o = ClassifierSetup.Parallel(epochs: 1);
        o.Progress = new Inline(_ => _trained = true);
        return o;
    }

    private static void Fit(MLContext ml, IDataView data, LmuClassifierOptions options)
    {
        using var model = ml.Transforms.LmuClassifier(options).Fit(data);
    }
}
