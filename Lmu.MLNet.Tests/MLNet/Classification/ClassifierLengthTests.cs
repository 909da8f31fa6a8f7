using Lmu.MLNet.Classification;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;

namespace Lmu.MLNet.Tests.MLNet.Classification;

/// <summary>
/// The classifier's optional sequence-length column: trained with lengths, scored exactly at each row's last real step
/// (padding never read), saved and loaded unchanged; bad lengths rejected before training.
/// </summary>
[TestClass]
public sealed class ClassifierLengthTests : ClassifierTestBase
{
    [TestMethod]
    public void TrainsWithALengthColumnScoresAtEachRowsEndAndSurvivesSaveLoad()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var options = ClassifierSetup.Parallel(epochs: 12);
        options.LengthColumnName = "Length";
        var estimator = ml.Transforms.LmuClassifier(options);
        var test = VariableLengthPatternData.Rows(90, 31);
        var flat = test.SelectMany(r => r.Features).ToArray();
        float[]? torchLogits = null;
        estimator.InspectTrainedNetwork = net =>
        {
            using var x = torch.tensor(flat, [test.Count, VariableLengthPatternData.Steps, 1]);
            using var n = torch.tensor(test.Select(r => (long)r.Length).ToArray());
            using var _ = torch.no_grad();
            using var y = net.forward(x, n);
            torchLogits = y.data<float>().ToArray();
        };
        using var model = estimator.Fit(ml.Data.LoadFromEnumerable(VariableLengthPatternData.Rows(300, 30)));
        Assert.AreEqual("Length", model.Info.LengthColumnName);

        var testView = ml.Data.LoadFromEnumerable(test);
        var scored = model.Transform(testView);
        var predicted = scored.GetColumn<uint>("PredictedLabel").ToArray();
        var accuracy = predicted.Zip(test).Count(p => model.Info.ClassNames[(int)p.First - 1] == p.Second.Label) / (double)test.Count;
        Assert.IsGreaterThanOrEqualTo(0.9, accuracy, "the class is the pattern at each row's own end; without lengths about 0.44");

        // The carried graph computes torch's forward(x, lengths): 1e-4 on O(1) logits (float32 both, different orders).
        Assert.IsNotNull(torchLogits);
        var onnx = Onnx.OnnxRunner.RunWithLengths(model.StandaloneOnnx(), "Features", flat, VariableLengthPatternData.Steps, "Length", test.Select(r => r.Length).ToArray(), "Logits");
        var worst = torchLogits.Zip(onnx, (a, b) => Math.Abs(a - b)).Max();
        Bound.Below(1e-4, worst, $"max |torch - onnx| logit = {worst:E2}");

        // Padding is never read: other padding values give bit-identical scores.
        var scores = scored.GetColumn<float[]>("Score").ToArray();
        var repadded = test.Select(r => new LengthPatternRow
        {
            Label = r.Label, Length = r.Length, Features = r.Features.Select((v, t) => t < r.Length ? v : 7f).ToArray(),
        });
        var repaddedScores = model.Transform(ml.Data.LoadFromEnumerable(repadded)).GetColumn<float[]>("Score").ToArray();
        for (var i = 0; i < scores.Length; i++)
        {
            CollectionAssert.AreEqual(scores[i], repaddedScores[i], $"row {i} (length {test[i].Length}) read its padding");
        }

        // Save and load: identical scores; the loaded model needs the length column.
        var path = Path.Combine(Temp, "lengths.zip");
        ml.Model.Save(model, testView.Schema, path);
        var loaded = new MLContext().Model.Load(path, out var schema);
        Assert.IsNotNull(schema.GetColumnOrNull("Length"));
        var loadedScores = loaded.Transform(testView).GetColumn<float[]>("Score").ToArray();
        for (var i = 0; i < scores.Length; i++)
        {
            CollectionAssert.AreEqual(scores[i], loadedScores[i], $"row {i}: loaded model scores differently");
        }

        (loaded as IDisposable)?.Dispose();
    }

    [TestMethod]
    public void ALoadedClassifierScoresNaNAndNoClassForALengthNoModelReads()
    {
        // The fitted transformer refuses such a row; the loaded zip (and the exported graph) truncated 3.7 to 3 and
        // clamped the rest, and answered a class (found by QA). Now: NaN scores and no class; other rows bit for bit.
        var ml = ClassifierSetup.Context(MlTemp);
        var options = ClassifierSetup.Parallel(epochs: 2);
        options.LengthColumnName = "Length";
        var rows = VariableLengthPatternData.Rows(40, 5).Select(r => new SingleLengthPatternRow { Label = r.Label, Features = r.Features, Length = r.Length }).ToList();
        using var model = ml.Transforms.LmuClassifier(options).Fit(ml.Data.LoadFromEnumerable(rows));
        var path = Path.Combine(Temp, "bad-lengths.zip");
        LmuModelFile.Save(ml, model, ml.Data.LoadFromEnumerable(rows).Schema, path);
        var loaded = LmuModelFile.Load(new MLContext(), path, out _);
        try
        {
            float[] bad = [0f, -5f, float.NaN, VariableLengthPatternData.Steps + 1f, 3.7f];
            var probe = rows.Take(bad.Length + 2).Select((r, i) => new SingleLengthPatternRow { Label = r.Label, Features = r.Features, Length = i < bad.Length ? bad[i] : r.Length }).ToList();
            var scored = loaded.Transform(ml.Data.LoadFromEnumerable(probe));
            var scores = scored.GetColumn<float[]>("Score").ToArray();
            var labels = scored.GetColumn<uint>("PredictedLabel").ToArray();
            for (var i = 0; i < bad.Length; i++)
            {
                Assert.IsTrue(scores[i].All(float.IsNaN), $"length {bad[i]}: [{string.Join(", ", scores[i])}]");
                Assert.AreEqual(0u, labels[i], $"length {bad[i]}: no class (the missing key)");
            }

            var expected = model.Transform(ml.Data.LoadFromEnumerable(probe.Skip(bad.Length))).GetColumn<float[]>("Score").ToArray();
            for (var i = 0; i < expected.Length; i++)
            {
                CollectionAssert.AreEqual(expected[i], scores[bad.Length + i], $"readable row {i}");
            }
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }
    }

    [TestMethod]
    public void ScoringNeedsTheLengthColumnWithItsTrainedType()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var options = ClassifierSetup.Parallel(epochs: 1);
        options.LengthColumnName = "Length";
        using var model = ml.Transforms.LmuClassifier(options).Fit(ml.Data.LoadFromEnumerable(VariableLengthPatternData.Rows(30, 3)));
        var asSingle = VariableLengthPatternData.Rows(6, 4).Select(r => new SingleLengthPatternRow { Label = r.Label, Features = r.Features, Length = r.Length });
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => model.Transform(ml.Data.LoadFromEnumerable(asSingle)));
        StringAssert.Contains(e.Message, "Sequence-length column 'Length' has type Single; the model was trained with Int32");
        var without = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(6, 4));
        e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => model.Transform(without));
        StringAssert.Contains(e.Message, "sequence-length column 'Length' was not found");
    }

    [TestMethod]
    [DataRow(0, "length 0; expected a whole number from 1 to 24")]
    [DataRow(25, "length 25; expected a whole number from 1 to 24")]
    [DataRow(-3, "length -3; expected a whole number from 1 to 24")]
    public void OutOfRangeLengthsThrowBeforeTraining(int bad, string expected)
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var rows = VariableLengthPatternData.Rows(30, 5);
        rows[17].Length = bad;
        var e = FitExpectingFailure<InvalidDataException>(ml, ml.Data.LoadFromEnumerable(rows));
        StringAssert.Contains(e.Message, "Sequence-length column 'Length', training row 17: " + expected);
    }

    [TestMethod]
    public void FractionalAndNonFiniteSingleLengthsThrowBeforeTraining()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        foreach (var bad in new[] { 2.5f, float.NaN })
        {
            var rows = VariableLengthPatternData.Rows(30, 5).Select(r => new SingleLengthPatternRow { Label = r.Label, Features = r.Features, Length = r.Length }).ToList();
            rows[4].Length = bad;
            var e = FitExpectingFailure<InvalidDataException>(ml, ml.Data.LoadFromEnumerable(rows));
            StringAssert.Contains(e.Message, $"Sequence-length column 'Length', training row 4: length {bad}; expected a whole number from 1 to the row's steps (at most {VariableLengthPatternData.Steps})");
        }
    }

    [TestMethod]
    public void AVarVectorRowsLengthMayNotExceedItsOwnSteps()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var rows = VariableLengthPatternData.Rows(30, 6).Select(r => new VarLengthPatternRow { Label = r.Label, Features = r.Features[..r.Length], Length = r.Length }).ToList();
        rows[9].Features = rows[9].Features[..5];
        rows[9].Length = 6;
        var e = FitExpectingFailure<InvalidDataException>(ml, ml.Data.LoadFromEnumerable(rows));
        StringAssert.Contains(e.Message, "Sequence-length column 'Length', training row 9: length 6; expected a whole number from 1 to 5 (the row's steps)");
    }

    [TestMethod]
    public void AMissingOrWronglyTypedLengthColumnIsNamed()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var e = FitExpectingFailure<ArgumentOutOfRangeException>(ml, ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(30, 7)));
        StringAssert.Contains(e.Message, "sequence-length column 'Length' was not found");
        StringAssert.Contains(e.Message, "'Features'");

        var doubles = VariableLengthPatternData.Rows(30, 7).Select(r => new DoubleLengthPatternRow { Label = r.Label, Features = r.Features, Length = r.Length });
        e = FitExpectingFailure<ArgumentOutOfRangeException>(ml, ml.Data.LoadFromEnumerable(doubles));
        StringAssert.Contains(e.Message, "Sequence-length column 'Length' has type Double; expected a scalar Single, Int32, UInt32 or Int64");
    }

    [TestMethod]
    public void PaddingOfAnyValueTrainsTheSameModel_NaNIncluded_WhileNaNInARealStepIsRefused()
    {
        // Numerics QA: Fit refused NaN padding (how UCR's variable-length files come) that the fitted model scored, and
        // padding of 1e6 changed the trained scores by up to 6e-4 (the FFT form's round-off spread it into the real
        // steps). Same seed, same real steps: bit-identical scores whatever the padding.
        var test = VariableLengthPatternData.Rows(40, 31);
        float[][] ScoresAfterTrainingWith(float padding)
        {
            var ml = ClassifierSetup.Context(MlTemp);
            var options = ClassifierSetup.Parallel(epochs: 3);
            options.LengthColumnName = "Length";
            var rows = VariableLengthPatternData.Rows(90, 30).Select(r => Repadded(r, padding));
            using var model = ml.Transforms.LmuClassifier(options).Fit(ml.Data.LoadFromEnumerable(rows));
            return model.Transform(ml.Data.LoadFromEnumerable(test)).GetColumn<float[]>("Score").ToArray();
        }

        var zeroPadded = ScoresAfterTrainingWith(0f);
        foreach (var padding in new[] { 1e6f, float.NaN })
        {
            var scores = ScoresAfterTrainingWith(padding);
            for (var i = 0; i < scores.Length; i++)
            {
                CollectionAssert.AreEqual(zeroPadded[i], scores[i], $"trained with padding {padding}: test row {i}");
            }
        }

        // A NaN among a row's real steps is still a data error, named by its step.
        var bad = VariableLengthPatternData.Rows(30, 8).Select(r => Repadded(r, 0f)).ToList();
        bad[3].Features[bad[3].Length - 1] = float.NaN;
        var e = FitExpectingFailure<InvalidDataException>(ClassifierSetup.Context(MlTemp), ClassifierSetup.Context(MlTemp).Data.LoadFromEnumerable(bad));
        StringAssert.Contains(e.Message, $"Features column 'Features', training row 3, slot {bad[3].Length - 1} (step {bad[3].Length - 1}, channel 0): value NaN; expected a finite number");
    }

    private static LengthPatternRow Repadded(LengthPatternRow row, float padding) => new()
    {
        Label = row.Label, Length = row.Length, Features = row.Features.Select((v, t) => t < row.Length ? v : padding).ToArray(),
    };

    /// <summary>Fits with a length column and checks that it threw before any epoch ran.</summary>
    private static TException FitExpectingFailure<TException>(MLContext ml, IDataView data)
        where TException : Exception
    {
        var options = ClassifierSetup.Parallel(epochs: 1);
        options.LengthColumnName = "Length";
        var epochs = 0;
        options.Progress = new Inline(_ => epochs++);
        var e = Assert.ThrowsExactly<TException>(() => ml.Transforms.LmuClassifier(options).Fit(data));
        Assert.AreEqual(0, epochs, "training started before the bad input was found");
        return e;
    }
}
