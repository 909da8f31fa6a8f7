using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Classification;

/// <summary>Validation data is read as the training data is: its classes by name, its rows at the model's size.</summary>
[TestClass]
public sealed class ClassifierValidationDataTests : ClassifierTestBase
{
    [TestMethod]
    public void ValidationKeysFromAnotherMapValueToKeyAreMatchedByTheirValues()
    {
        // QA: keys read as indices scored the validation rows against the wrong classes (accuracy 0.233 for 0.522) and
        // early stopping kept the wrong epoch, without a word.
        var ml = ClassifierSetup.Context(MlTemp);
        var (train, map) = ClassifierSetup.Keyed(ml, ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(60, 1)));
        var valid = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(30, 2));
        var consistent = map.Transform(valid);
        var reversed = ml.Transforms.Conversion.MapValueToKey("Label", keyData: KeyData(ml, [.. DelayedPatternData.Classes.Reverse()])).Fit(valid).Transform(valid);

        var expected = History(ml, train, consistent);
        var actual = History(ml, train, reversed);

        CollectionAssert.AreEqual(expected, actual, "the same rows with their keys in another order must validate the same");
        Assert.IsTrue(expected.Any(v => v > 0.4), "validation accuracy rises above chance, so a wrong mapping would show");

        var other = ml.Transforms.Conversion.MapValueToKey("Label", keyData: KeyData(ml, ["up", "down", "sideways"])).Fit(valid).Transform(valid);
        var options = ClassifierSetup.Parallel(epochs: 1);
        options.ValidationData = other;
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.Lmu(options).Fit(train).Dispose());
        StringAssert.Contains(e.Message, "Label column 'Label' in the validation data has the key values [up, down, sideways], which are not the training classes [up, down, bump] in any order");
    }

    [TestMethod]
    public void ValidationDataOfAnotherTypeIsNamedAsTheValidationData()
    {
        // Types QA: the classifier's and the experiment's refusals of validation data of another type read as refusals
        // of the training data, which was fine.
        var ml = ClassifierSetup.Context(MlTemp);
        var train = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(30, 1));
        var doubles = ml.Transforms.Conversion.ConvertType("Features", outputKind: DataKind.Double).Fit(train).Transform(train);
        var options = ClassifierSetup.Parallel(epochs: 1);
        options.ValidationData = doubles;
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.Lmu(options).Fit(train).Dispose());
        StringAssert.StartsWith(e.Message, $"In ValidationData: Features column 'Features' has type Vector<Double, {DelayedPatternData.Steps}>; expected Vector<Single>");
        Assert.AreEqual("ValidationData", e.ParamName);

        var experiment = Assert.ThrowsExactly<ArgumentException>(() => new Lmu.MLNet.Experiments.LmuClassificationExperiment(ml, new Lmu.MLNet.Experiments.LmuExperimentSettings { MaxExperimentTimeInSeconds = 60 }).Execute(train, validationData: doubles));
        StringAssert.StartsWith(experiment.Message, "LMU experiment: features column 'Features' of the validation data must be a fixed-size Vector<Single> but is Vector<Double, ");
    }

    [TestMethod]
    public void AShorterValidationVectorIsReadAsShorterSequencesAndSaidSo()
    {
        // Narrower rows are shorter sequences, left-padded as variable-size rows are (ClassifierInputLayoutTests); QA
        // took that for a silent mistake, since the fitted model refuses that size when scoring: the Fit now says it.
        var ml = ClassifierSetup.Context(MlTemp);
        var messages = new List<string>();
        ml.Log += (_, e) => messages.Add(e.Message);
        var train = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(30, 1));
        var shortRows = DelayedPatternData.Rows(12, 2).Select(r => new PatternRow { Label = r.Label, Features = r.Features[..16] }).ToList();
        var definition = SchemaDefinition.Create(typeof(PatternRow));
        definition[nameof(PatternRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, 16);
        var options = ClassifierSetup.Parallel(epochs: 1);
        options.ValidationData = ml.Data.LoadFromEnumerable(shortRows, definition);
        ml.Transforms.LmuClassifier(options).Fit(train).Dispose();
        Assert.IsTrue(
            messages.Any(m => m.Contains($"Features column 'Features' has 16 values per row in the validation data and {DelayedPatternData.Steps} in the training data", StringComparison.Ordinal)),
            "warned:\n" + string.Join("\n", messages.Where(m => m.Contains("validation", StringComparison.Ordinal))));
    }

    [TestMethod]
    public void AValidationFractionThatLeavesNoRowsSaysSo()
    {
        // QA: "The validation data has no rows with a label" for validation data the caller never gave. ML.NET's split
        // is random, so try seeds until one leaves the validation side empty (about 4 in 10 do for 4 rows at 0.2).
        var rows = DelayedPatternData.Rows(4, 1);
        InvalidOperationException? refused = null;
        for (var seed = 1; seed <= 30 && refused is null; seed++)
        {
            var ml = ClassifierSetup.Context(MlTemp, seed);
            var options = ClassifierSetup.Parallel(epochs: 1, seed: seed);
            options.ValidationFraction = 0.2;
            try
            {
                ml.Transforms.LmuClassifier(options).Fit(ml.Data.LoadFromEnumerable(rows)).Dispose();
            }
            catch (InvalidOperationException e) when (e.Message.Contains("validation data has no rows", StringComparison.Ordinal))
            {
                refused = e;
            }
        }

        Assert.IsNotNull(refused, "no seed of 30 left the validation side empty");
        StringAssert.Contains(refused.Message, "ValidationFraction = 0.2 of the 4 labelled training rows gave it");
    }

    private static IDataView KeyData(MLContext ml, string[] classes) =>
        ml.Data.LoadFromEnumerable(classes.Select(c => new PatternTextPrediction { PredictedLabel = c }));

    private static double[] History(MLContext ml, IDataView train, IDataView validation)
    {
        var options = ClassifierSetup.Parallel(epochs: 4);
        options.ValidationData = validation;
        using var model = ml.MulticlassClassification.Trainers.Lmu(options).Fit(train);
        return [.. model.Info.History.SelectMany(h => new[] { h.ValidationLoss!.Value, h.ValidationAccuracy!.Value })];
    }
}
