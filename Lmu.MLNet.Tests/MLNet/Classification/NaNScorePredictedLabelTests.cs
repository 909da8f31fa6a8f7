using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Classification;

/// <summary>
/// A row whose features hold NaN scores NaN; its PredictedLabel must then be the missing key (0), not the first class
/// (ONNX ArgMax over NaN returns index 0), both for the carried chain and for a fitted classifier, before and after
/// a save/load round trip.
/// </summary>
[TestClass]
public sealed class NaNScorePredictedLabelTests : ClassifierTestBase
{
    [TestMethod]
    public void TheCarriedChainGivesNaNRowsTheMissingKey()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var rows = Lmu.MLNet.Tests.MLNet.CarrierTestData.Rows(6);
        rows[2].Features[3] = float.NaN;
        rows[4].Features[0] = float.PositiveInfinity;
        var data = ml.Data.LoadFromEnumerable(rows);
        using var chain = OnnxCarrier.CreateMulticlass(ml, Lmu.MLNet.Tests.MLNet.CarrierTestData.Model(), data, ["Features"], Lmu.MLNet.Tests.MLNet.CarrierTestData.Classes);
        AssertMissingKeyExactlyWhereScoresAreNaN(chain.Transform(data), [2, 4]);
    }

    [TestMethod]
    public void AFittedClassifierGivesNaNRowsTheMissingKeyBeforeAndAfterReload()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var data = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(48, 3));
        var rows = DelayedPatternData.Rows(5, 4);
        rows[1].Features[10] = float.NaN;
        var test = ml.Data.LoadFromEnumerable(rows);
        var zip = Path.Combine(Temp, "m.zip");
        using (var model = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 1))).Fit(data))
        {
            AssertMissingKeyExactlyWhereScoresAreNaN(model.Transform(test), [1]);
            ml.Model.Save(model, data.Schema, zip);
        }

        var loaded = LmuModelFile.Load(ml, zip, out _);
        AssertMissingKeyExactlyWhereScoresAreNaN(loaded.Transform(test), [1]);
        (loaded as IDisposable)?.Dispose();
    }

    private static void AssertMissingKeyExactlyWhereScoresAreNaN(IDataView scored, int[] nanRows)
    {
        var scores = scored.GetColumn<float[]>("Score").ToArray();
        var keys = scored.GetColumn<uint>("PredictedLabel").ToArray();
        for (var i = 0; i < scores.Length; i++)
        {
            var nan = scores[i].Any(float.IsNaN);
            Assert.AreEqual(nanRows.Contains(i), nan, $"row {i}: NaN scores expected exactly in rows {string.Join(", ", nanRows)}");
            if (nan)
            {
                Assert.AreEqual(0u, keys[i], $"row {i} has NaN scores: its PredictedLabel must be the missing key 0");
            }
            else
            {
                Assert.AreEqual((uint)(Array.IndexOf(scores[i], scores[i].Max()) + 1), keys[i], $"row {i}: the arg-max class");
            }
        }
    }
}
