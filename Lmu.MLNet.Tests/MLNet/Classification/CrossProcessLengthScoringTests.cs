using System.Globalization;
using Lmu.MLNet.Tests.Infrastructure;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Classification;

/// <summary>
/// The Samples app's predict command (a new process, from a copy of the app without libtorch) on a classifier trained
/// with a sequence-length column: each CSV row is the features then the length; scores are bit-identical to this
/// process's, and bad lengths stop it with a message naming the line, the column, the value and the allowed range,
/// before anything is written.
/// </summary>
[TestClass]
public sealed class CrossProcessLengthScoringTests : ClassifierTestBase
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(2);

    [TestMethod]
    [DataRow("Int32", false)]
    [DataRow("UInt32", false)]
    [DataRow("Int64", false)]
    [DataRow("Single", true)] // --length-column given: the option overrides discovery
    public void ALengthColumnIsFoundOrNamedAndRowsScoreIdentically(string type, bool nameIt)
    {
        var zip = Path.Combine(Temp, "m.zip");
        var model = LengthClassifierZip.Create(ClassifierSetup.Context(MlTemp), type, zip);
        var input = Path.Combine(Temp, "rows.csv");
        File.WriteAllLines(input, model.Rows.Select(r => Csv(r.Features) + "," + Convert.ToString(r.Length, CultureInfo.InvariantCulture)));
        var output = Path.Combine(Temp, "scores.csv");
        string[] named = nameIt ? ["--length-column", "Length"] : [];

        var (code, stdout) = SamplesApp.Run(App(), Temp, Limit, ["predict", "--model", zip, "--input", input, "--output", output, .. named]);
        Assert.AreEqual(0, code, stdout);
        StringAssert.Contains(stdout, $"(length column 'Length', {type})");
        StringAssert.Contains(stdout, "libtorch loaded: no");
        var lines = File.ReadAllLines(output);
        Assert.AreEqual("Score[0],Score[1],Score[2],PredictedLabel,PredictedLabelValue", lines[0]);
        Assert.HasCount(model.Rows.Count + 1, lines);
        for (var i = 0; i < model.Rows.Count; i++)
        {
            var parts = lines[i + 1].Split(',');
            CollectionAssert.AreEqual(model.Scores[i], parts[..^2].Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray(), $"row {i} (length {model.Rows[i].Length}): scores must be bit-identical across processes");
            Assert.AreEqual(model.Keys[i], uint.Parse(parts[^2], CultureInfo.InvariantCulture), $"row {i} key");
        }
    }

    [TestMethod]
    public void NaNPaddingPastARowsLengthScoresAsTheRowDoes()
    {
        // Regression QA: the library trains on and scores NaN padding (UCR's variable-length files pad with NaN), and
        // predict refused it. With one channel value k is step k, so what lies past the length is known to be padding.
        var zip = Path.Combine(Temp, "m.zip");
        var model = LengthClassifierZip.Create(ClassifierSetup.Context(MlTemp), "Int32", zip, epochs: 1);
        Assert.IsTrue(model.Rows.Any(r => Steps(r) < r.Features.Length), "some rows are padded");
        var input = Path.Combine(Temp, "nan-padded.csv");
        File.WriteAllLines(input, model.Rows.Select(r =>
            string.Join(",", r.Features.Select((v, k) => k >= Steps(r) ? "NaN" : v.ToString("R", CultureInfo.InvariantCulture))) + "," + r.Length));
        var output = Path.Combine(Temp, "scores.csv");
        var app = App();
        var (code, stdout) = SamplesApp.Run(app, Temp, Limit, "predict", "--model", zip, "--input", input, "--output", output);
        Assert.AreEqual(0, code, stdout);
        var lines = File.ReadAllLines(output);
        for (var i = 0; i < model.Rows.Count; i++)
        {
            CollectionAssert.AreEqual(model.Scores[i], lines[i + 1].Split(',')[..^2].Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray(), $"row {i} (length {model.Rows[i].Length})");
        }

        // A NaN at a real step is still refused, naming it.
        var first = model.Rows.First(r => Steps(r) < r.Features.Length);
        var n = Steps(first);
        File.WriteAllLines(input, [string.Join(",", first.Features.Select((v, k) => k == n - 1 ? "NaN" : v.ToString("R", CultureInfo.InvariantCulture))) + "," + n]);
        (code, stdout) = SamplesApp.Run(app, Temp, Limit, "predict", "--model", zip, "--input", input, "--output", output);
        Assert.AreEqual(2, code, stdout);
        StringAssert.Contains(stdout, $"line 1, column {n}: value {n} of 'Features' is 'NaN'");
    }

    private static int Steps(LengthClassifierZip.Row row) => Convert.ToInt32(row.Length, CultureInfo.InvariantCulture);

    [TestMethod]
    public void BadLengthsAreRejectedWithTheLineColumnValueAndRangeBeforeWriting()
    {
        var zip = Path.Combine(Temp, "m.zip");
        var model = LengthClassifierZip.Create(ClassifierSetup.Context(MlTemp), "Int32", zip, epochs: 1, testRows: 3);
        var app = App();
        var good = model.Rows.Select(r => Csv(r.Features) + "," + r.Length).ToArray();
        var features = Csv(model.Rows[2].Features);
        var cases = new (string Line, string Message)[]
        {
            (features, "line 3: the length column 'Length' is missing; expected 24 values of 'Features', then the length (a whole number from 1 to 24), 25 values in all; got 24"),
            (features + ",", "line 3: the length column 'Length' is missing (empty last value); expected a whole number from 1 to 24"),
            (features + ",2.5", "line 3: length column 'Length' is '2.5'; expected a whole number from 1 to 24 (the sequence length: 24 values / 1 channel(s))"),
            (features + ",0", "line 3: length column 'Length' is '0'; expected a whole number from 1 to 24"),
            (features + ",25", "line 3: length column 'Length' is '25'; expected a whole number from 1 to 24"),
            (features + ",x", "line 3: length column 'Length' is 'x'; expected a whole number from 1 to 24"),
        };
        foreach (var (line, message) in cases)
        {
            var input = Path.Combine(Temp, "rows.csv");
            File.WriteAllLines(input, [good[0], good[1], line]);
            var output = Path.Combine(Temp, "scores.csv");
            var (code, stdout) = SamplesApp.Run(app, Temp, Limit, "predict", "--model", zip, "--input", input, "--output", output);
            Assert.AreNotEqual(0, code, stdout);
            StringAssert.Contains(stdout, message);
            Assert.IsFalse(File.Exists(output), $"nothing may be written when a row is bad: {message}");
        }

        // The same rows are fine with 2 channels (T = 12) only when every length is at most 12; 13 is named against 12.
        var twoChannels = Path.Combine(Temp, "rows2.csv");
        File.WriteAllLines(twoChannels, [features + ",13"]);
        var (code2, stdout2) = SamplesApp.Run(app, Temp, Limit, "predict", "--model", zip, "--input", twoChannels, "--output", Path.Combine(Temp, "s2.csv"), "--channels", "2");
        Assert.AreNotEqual(0, code2, stdout2);
        StringAssert.Contains(stdout2, "length column 'Length' is '13'; expected a whole number from 1 to 12 (the sequence length: 24 values / 2 channel(s))");

        var (code3, stdout3) = SamplesApp.Run(app, Temp, Limit, "predict", "--model", zip, "--input", twoChannels, "--output", Path.Combine(Temp, "s3.csv"), "--length-column", "Steps");
        Assert.AreNotEqual(0, code3, stdout3);
        StringAssert.Contains(stdout3, "The model's input schema has no length column 'Steps'; its columns are 'Label', 'Features', 'Length'");
    }

    [TestMethod]
    public void ANumericLabelThatTheChainKeysIsNotMistakenForALength()
    {
        // MapValueToKey over a Single label, then the classifier without lengths: the saved chain needs Label (a
        // Single, like a length), but its ONNX scorer does not read it, so predict neither takes it for a length nor
        // asks for it: only the MapValueToKey reads it, so it gets a missing value and the scores are unchanged.
        var ml = ClassifierSetup.Context(MlTemp);
        var rows = DelayedPatternData.Rows(40, 51).Select((r, i) => new NumericLabelRow { Label = i % DelayedPatternData.Classes.Length, Features = r.Features }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var zip = Path.Combine(Temp, "m.zip");
        float[][] expected;
        string[] classes;
        using (var model = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 1))).Fit(data))
        {
            ml.Model.Save(model, data.Schema, zip);
            var scored = model.Transform(ml.Data.LoadFromEnumerable(rows.Take(3)));
            expected = scored.GetColumn<float[]>("Score").ToArray();
            VBuffer<ReadOnlyMemory<char>> names = default;
            scored.Schema["PredictedLabel"].GetKeyValues(ref names);
            classes = scored.GetColumn<uint>("PredictedLabel").Select(k => names.GetItemOrDefault((int)k - 1).ToString()).ToArray();
        }

        var input = Path.Combine(Temp, "rows.csv");
        File.WriteAllLines(input, rows.Take(3).Select(r => Csv(r.Features)));
        var output = Path.Combine(Temp, "scores.csv");
        var (code, stdout) = SamplesApp.Run(App(), Temp, Limit, "predict", "--model", zip, "--input", input, "--output", output);
        Assert.AreEqual(0, code, stdout);
        Assert.IsFalse(stdout.Contains("length column", StringComparison.Ordinal), stdout);
        StringAssert.Contains(stdout, "'Label' given a missing value");
        var lines = File.ReadAllLines(output);
        for (var i = 0; i < 3; i++)
        {
            var parts = lines[i + 1].Split(',');
            CollectionAssert.AreEqual(expected[i], parts[..^2].Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray(), $"row {i}");
            Assert.AreEqual(classes[i], parts[^1], $"row {i}: the numeric label's value the key stands for, as text");
        }
    }

    private string App() => SamplesApp.CopyWithoutTorch(SamplesApp.Output(), Path.Combine(Temp, "app"));

    private static string Csv(IEnumerable<float> values) => string.Join(',', values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));

    private sealed class NumericLabelRow
    {
        public float Label { get; set; }

        [VectorType(DelayedPatternData.Steps)]
        public float[] Features { get; set; } = [];
    }
}
