using System.Globalization;
using Lmu.MLNet.Tests.Infrastructure;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Classification;

/// <summary>
/// A model saved here is loaded and scored in a NEW PROCESS (the Samples app's predict command) from a copy of the
/// app's output folder without any libtorch native library, and gives bit-identical scores.
/// </summary>
[TestClass]
public sealed class CrossProcessScoringTests : ClassifierTestBase
{
    [TestMethod]
    public void ASavedModelScoresIdenticallyInANewProcessWithoutLibtorch()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var data = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(96, 31));
        var rows = DelayedPatternData.Rows(25, 32);
        var zip = Path.Combine(Temp, "m.zip");
        float[][] expected;
        uint[] expectedKeys;
        using (var model = ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 2)).Fit(data))
        {
            var scored = model.Transform(ml.Data.LoadFromEnumerable(rows));
            expected = scored.GetColumn<float[]>("Score").ToArray();
            expectedKeys = scored.GetColumn<uint>("PredictedLabel").ToArray();
            ml.Model.Save(model, data.Schema, zip);
        }

        var input = Path.Combine(Temp, "rows.csv");
        File.WriteAllLines(input, rows.Select(r => string.Join(',', r.Features.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))));
        var app = SamplesApp.CopyWithoutTorch(SamplesApp.Output(), Path.Combine(Temp, "app"));
        var output = Path.Combine(Temp, "scores.csv");

        var (code, stdout) = SamplesApp.Run(app, Temp, TimeSpan.FromMinutes(2), "predict", "--model", zip, "--input", input, "--output", output);
        Assert.AreEqual(0, code, stdout);
        StringAssert.Contains(stdout, "libtorch loaded: no");

        var lines = File.ReadAllLines(output);
        Assert.AreEqual("Score[0],Score[1],Score[2],PredictedLabel,PredictedLabelValue", lines[0]);
        Assert.HasCount(rows.Count + 1, lines);
        for (var i = 0; i < rows.Count; i++)
        {
            var parts = lines[i + 1].Split(',');
            var scores = parts[..^2].Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            CollectionAssert.AreEqual(expected[i], scores, $"row {i}: scores must be bit-identical across processes");
            Assert.AreEqual(expectedKeys[i], uint.Parse(parts[^2], CultureInfo.InvariantCulture), $"row {i} key");
        }
    }
}
