using Lmu.MLNet.Experiments;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Classification;

/// <summary>A training row whose label is already a key (built by hand, not by MapValueToKey).</summary>
public sealed class KeyLabelRow
{
    public uint Label { get; set; }

    [VectorType(DelayedPatternData.Steps)]
    public float[] Features { get; set; } = [];
}

/// <summary>
/// A key label's KeyValues are the model's class names, and its <c>PredictedLabel</c> is keyed by name: names that repeat
/// or are empty (which MapValueToKey never makes, a hand-built view can) are refused before training by every trainer
/// that reads them. Found by QA: KeyValues [x, x, y] gave a PredictedLabel of Key&lt;2&gt; that disagreed with the
/// highest score on 40 of 60 rows while Evaluate, reading Score, said 1.0.
/// </summary>
[TestClass]
public sealed class KeyValuesClassNameTests : ClassifierTestBase
{
    [TestMethod]
    [DataRow("x|x|y", "has the KeyValues name 'x' for keys 1 and 2; class names must be distinct")]
    [DataRow("a|b|b", "has the KeyValues name 'b' for keys 2 and 3; class names must be distinct")]
    [DataRow("|b|c", "has an empty KeyValues name for key 1; every class needs a name of its own")]
    public void RepeatedOrEmptyNamesAreRefusedBeforeTraining(string keyValues, string expected)
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var data = KeyedData(ml, keyValues.Split('|'));
        var trained = false;
        var options = ClassifierSetup.Parallel(epochs: 1);
        options.Progress = new Inline(_ => trained = true);

        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.Lmu(options).Fit(data).Dispose());
        StringAssert.Contains(e.Message, "Label column 'Label' " + expected);
        Assert.IsFalse(trained, "refused before the first epoch");

        e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.Ridge().Fit(data));
        StringAssert.Contains(e.Message, "Label column 'Label' " + expected);

        var settings = new LmuExperimentSettings { MaxExperimentTimeInSeconds = 60, BeforeTrial = _ => trained = true };
        var experiment = Assert.ThrowsExactly<ArgumentException>(() => new LmuClassificationExperiment(ml, settings).Execute(data));
        StringAssert.StartsWith(experiment.Message, "LMU experiment: Label column 'Label' " + expected);
        Assert.DoesNotContain("(Parameter", e.Message, "no parameter name of the library's own");
        Assert.IsFalse(trained, "no trial started");
    }

    [TestMethod]
    public void DistinctNamesKeepTheirKeysInThePredictedLabel()
    {
        // The control: the same hand-built keys with distinct names train, and PredictedLabel is the highest score's key.
        var ml = ClassifierSetup.Context(MlTemp);
        var data = KeyedData(ml, ["x", "y", "z"]);
        var scored = ml.MulticlassClassification.Trainers.Ridge().Fit(data).Transform(data);
        Assert.AreEqual(3UL, ((KeyDataViewType)scored.Schema["PredictedLabel"].Type).Count);
        var predicted = scored.GetColumn<uint>("PredictedLabel").ToArray();
        var best = scored.GetColumn<float[]>("Score").Select(s => (uint)Array.IndexOf(s, s.Max()) + 1).ToArray();
        CollectionAssert.AreEqual(best, predicted);
    }

    [TestMethod]
    public void AKeyPastItsTypesCountIsRefusedNamingTheRow()
    {
        // Types QA: in a view of the user's own, key 5 of a Key<3> label was a bare IndexOutOfRangeException from the
        // classifier's scan and a row of no class to the ridge; a UInt64 key past 2^32 was truncated to another class.
        // (LoadFromEnumerable cannot make such a view: it reads a key past the count as missing.)
        var ml = ClassifierSetup.Context(MlTemp);
        var rows = DelayedPatternData.Rows(30, 1);
        var features = Infrastructure.ProbeColumn.Vector("Features", DelayedPatternData.Steps, (r, x) => rows[(int)r].Features.CopyTo(x));
        uint Key(long r) => (uint)Array.IndexOf(DelayedPatternData.Classes, rows[(int)r].Label) + 1;
        var data = new Infrastructure.ProbeDataView(rows.Count, 1_000_000, features, Infrastructure.ProbeColumn.Key("Label", 3, r => r == 7 ? 5u : Key(r)));
        var e = Assert.ThrowsExactly<InvalidDataException>(() => ml.MulticlassClassification.Trainers.Lmu(ClassifierSetup.Parallel(epochs: 1)).Fit(data).Dispose());
        Assert.AreEqual("Label column 'Label', training row 7: key 5 is outside its type Key<UInt32, 0-2> (keys 1 to 3; 0 is the missing key).", e.Message);
        var ridge = Assert.ThrowsExactly<InvalidDataException>(() => ml.MulticlassClassification.Trainers.Ridge().Fit(data));
        Assert.AreEqual("RidgeClassifier: label column 'Label', row 7: key 5 is outside its type Key<UInt32, 0-2> (keys 1 to 3; 0 is the missing key).", ridge.Message);

        var wide = new Infrastructure.ProbeDataView(rows.Count, 1_000_000, features, Infrastructure.ProbeColumn.Key("Label", 3, r => r == 3 ? (1UL << 32) + 2 : Key(r)));
        var truncated = Assert.ThrowsExactly<InvalidDataException>(() => ml.MulticlassClassification.Trainers.Lmu(ClassifierSetup.Parallel(epochs: 1)).Fit(wide).Dispose());
        StringAssert.StartsWith(truncated.Message, "Label column 'Label', training row 3: key 4294967298 is outside its type");
    }

    private static IDataView KeyedData(MLContext ml, string[] keyValues)
    {
        var rows = DelayedPatternData.Rows(30, 1)
            .Select(r => new KeyLabelRow { Label = (uint)Array.IndexOf(DelayedPatternData.Classes, r.Label) + 1, Features = r.Features })
            .ToList();
        var definition = SchemaDefinition.Create(typeof(KeyLabelRow));
        definition[nameof(KeyLabelRow.Label)].ColumnType = new KeyDataViewType(typeof(uint), keyValues.Length);
        definition[nameof(KeyLabelRow.Label)].AddAnnotation(
            "KeyValues",
            new VBuffer<ReadOnlyMemory<char>>(keyValues.Length, keyValues.Select(v => v.AsMemory()).ToArray()),
            new VectorDataViewType(TextDataViewType.Instance, keyValues.Length));
        return ml.Data.LoadFromEnumerable(rows, definition);
    }
}
