using Lmu.MLNet.Classification;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Classification;

/// <summary>A two-channel row: each channel as its own column, and the same values interleaved step-major.</summary>
public sealed class TwoChannelRow
{
    public const int Steps = 12;

    public string Label { get; set; } = string.Empty;

    [VectorType(Steps)]
    public float[] A { get; set; } = [];

    [VectorType(Steps)]
    public float[] B { get; set; } = [];

    [VectorType(2 * Steps)]
    public float[] Interleaved { get; set; } = [];

    /// <summary>Valid steps (the rest of each channel is zero padding).</summary>
    public int Length { get; set; }
}

/// <summary>A two-channel row of 8 steps (a narrower validation column).</summary>
public sealed class NarrowTwoChannelRow
{
    public string Label { get; set; } = string.Empty;

    [VectorType(8)]
    public float[] A { get; set; } = [];

    [VectorType(8)]
    public float[] B { get; set; } = [];

    [VectorType(16)]
    public float[] Interleaved { get; set; } = [];
}

/// <summary>A row whose features column is called "Length" and whose length column is "N".</summary>
public sealed class LengthNamedRow
{
    public string Label { get; set; } = string.Empty;

    [VectorType(2 * TwoChannelRow.Steps)]
    public float[] Length { get; set; } = [];

    public int N { get; set; }
}

/// <summary>
/// <see cref="LmuInputLayout.ChannelMajor"/>: a row given as <c>Concatenate</c> of one column per channel trains and
/// scores exactly as the same values interleaved step-major (same seed, so the same batches and the same network: the
/// scores agree to 1e-6, float32 both, the graphs differing only by a Transpose), its saved zip scores the same, and
/// what the layout cannot read is refused before training with the column named.
/// </summary>
[TestClass]
public sealed class ClassifierInputLayoutTests : ClassifierTestBase
{
    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void AChannelMajorColumnTrainsAndScoresAsItsStepMajorTwin(bool withLength)
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var train = ml.Data.LoadFromEnumerable(Rows(160, 3, withLength));
        var test = ml.Data.LoadFromEnumerable(Rows(60, 4, withLength));
        var major = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.Concatenate("Channels", "A", "B"))
            .Append(ml.Transforms.LmuClassifier(Options("Channels", LmuInputLayout.ChannelMajor, withLength)));
        var interleaved = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LmuClassifier(Options("Interleaved", LmuInputLayout.StepMajor, withLength)));

        using var majorModel = major.Fit(train);
        using var twinModel = interleaved.Fit(train);
        var got = Scores(ml, majorModel, test);
        var expected = Scores(ml, twinModel, test);
        var worst = Worst(expected, got);
        Bound.Below(1e-6, worst, $"withLength={withLength}: max |channel-major - step-major| score = {worst:E2}");

        // Learned something, so that the agreement above is not two untrained networks agreeing.
        var accuracy = ml.MulticlassClassification.Evaluate(majorModel.Transform(test)).MicroAccuracy;
        Assert.IsGreaterThanOrEqualTo(0.8, accuracy, $"withLength={withLength}: held-out accuracy {accuracy:P1}");

        // The standalone ONNX export reads the concatenated column as the model was trained on it.
        var columns = majorModel.Transform(test);
        var flat = columns.GetColumn<float[]>("Channels").SelectMany(r => r).ToArray();
        var bytes = majorModel.LastTransformer.StandaloneOnnx();
        var exported = withLength
            ? Onnx.OnnxRunner.RunWithLengths(bytes, "Channels", flat, 2 * TwoChannelRow.Steps, "Length", columns.GetColumn<int>("Length").ToArray(), "Score")
            : Onnx.OnnxRunner.Run(bytes, "Channels", flat, 2 * TwoChannelRow.Steps, "Score")["Score"];
        var exportWorst = got.SelectMany(r => r).Zip(exported, (a, b) => Math.Abs(a - b)).Max();
        Bound.Below(1e-6, exportWorst, $"withLength={withLength}: max |exported ONNX - Transform| score = {exportWorst:E2}");

        var path = Path.Combine(Temp, "channel-major.zip");
        ml.Model.Save(majorModel, train.Schema, path);
        var loaded = ml.Model.Load(path, out _);
        var reloaded = Scores(ml, loaded, test);
        (loaded as IDisposable)?.Dispose();
        Assert.AreEqual(0.0, Worst(got, reloaded), $"withLength={withLength}: the reloaded zip scores bit-identically");
    }

    [TestMethod]
    public void NarrowerValidationRowsAreReadAsTheirStepMajorTwins()
    {
        // Validation rows of 8 steps per channel against 12 training steps (no length column: left-padded). The
        // channel-major reader must transpose each row's own [C, 8] block where it lands, so validation losses equal
        // the step-major twin's epoch by epoch.
        var ml = ClassifierSetup.Context(MlTemp);
        var train = ml.Data.LoadFromEnumerable(Rows(96, 6, withLength: false));
        var narrow = ml.Data.LoadFromEnumerable(Rows(40, 7, withLength: false).Select(Narrow));
        var keys = ml.Transforms.Conversion.MapValueToKey("Label").Fit(train);
        var concat = ml.Transforms.Concatenate("Channels", "A", "B");
        var majorOptions = Options("Channels", LmuInputLayout.ChannelMajor, false);
        majorOptions.ValidationData = concat.Fit(keys.Transform(narrow)).Transform(keys.Transform(narrow));
        var twinOptions = Options("Interleaved", LmuInputLayout.StepMajor, false);
        twinOptions.ValidationData = keys.Transform(narrow);

        var keyedTrain = keys.Transform(train);
        using var major = ml.Transforms.LmuClassifier(majorOptions).Fit(concat.Fit(keyedTrain).Transform(keyedTrain));
        using var twin = ml.Transforms.LmuClassifier(twinOptions).Fit(keyedTrain);
        var a = major.Info.History.Select(h => h.ValidationLoss!.Value).ToArray();
        var b = twin.Info.History.Select(h => h.ValidationLoss!.Value).ToArray();
        Assert.HasCount(b.Length, a);
        for (var e = 0; e < a.Length; e++)
        {
            Assert.AreEqual(b[e], a[e], 1e-6, $"epoch {e + 1}: validation loss, channel-major vs step-major");
        }
    }

    [TestMethod]
    public void AFeaturesColumnNamedLikeTheLengthCarrierTrainsAndScores()
    {
        // The scoring schema is built from a class whose members are named Features and Length: a features column
        // called "Length" must not be mistaken for the length column when both are renamed.
        var ml = ClassifierSetup.Context(MlTemp);
        var rows = Rows(64, 8, withLength: true).Select(r => new LengthNamedRow { Label = r.Label, Length = r.Interleaved, N = r.Length }).ToList();
        var options = Options("Length", LmuInputLayout.StepMajor, false);
        options.LengthColumnName = nameof(LengthNamedRow.N);
        options.Training.Epochs = 1;
        var data = ml.Data.LoadFromEnumerable(rows);
        using var model = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.Transforms.LmuClassifier(options)).Fit(data);
        var scores = Scores(ml, model, data);
        Assert.IsTrue(scores.All(r => r.Length == 2 && r.All(float.IsFinite)));
    }

    [TestMethod]
    public void AVarVectorIsRefusedForSeveralChannelMajorChannelsBeforeTraining()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var rows = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(20, 1).Select((r, i) => new VarPatternRow { Label = r.Label, Features = r.Features[..(18 + (i % 4))] }));
        var (keyed, _) = ClassifierSetup.Keyed(ml, rows);
        var options = ClassifierSetup.Parallel(epochs: 1);
        options.InputLayout = LmuInputLayout.ChannelMajor;
        options.Channels = 2;
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.LmuClassifier(options).Fit(keyed));
        StringAssert.Contains(e.Message, "Features column 'Features'");
        StringAssert.Contains(e.Message, "VarVector");
        StringAssert.Contains(e.Message, "ChannelMajor");
        AssertNoTempFiles();

        // One channel reads the same in either layout: a VarVector column trains.
        options.Channels = 1;
        using var model = ml.Transforms.LmuClassifier(options).Fit(keyed);
        Assert.AreEqual(LmuInputLayout.ChannelMajor, model.Info.InputLayout);
    }

    [TestMethod]
    public void ABadValueIsNamedByItsStepAndChannelInEitherLayout()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var rows = Rows(20, 5, withLength: false);
        rows[7].B[3] = float.NaN;                                   // step 3 of channel 1
        rows[7].Interleaved[3 * 2 + 1] = float.NaN;
        var data = ml.Data.LoadFromEnumerable(rows);
        var major = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.Concatenate("Channels", "A", "B"))
            .Append(ml.Transforms.LmuClassifier(Options("Channels", LmuInputLayout.ChannelMajor, false)));
        var e = Assert.ThrowsExactly<InvalidDataException>(() => major.Fit(data));
        StringAssert.Contains(e.Message, "row 7, slot 15 (step 3, channel 1)");

        var stepMajor = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LmuClassifier(Options("Interleaved", LmuInputLayout.StepMajor, false)));
        e = Assert.ThrowsExactly<InvalidDataException>(() => stepMajor.Fit(data));
        StringAssert.Contains(e.Message, "row 7, slot 7 (step 3, channel 1)");
    }

    [TestMethod]
    public void AnUndefinedLayoutIsRefusedByName()
    {
        var options = new LmuClassifierOptions { InputLayout = (LmuInputLayout)4 };
        var e = Assert.ThrowsExactly<ArgumentException>(options.Validate);
        StringAssert.Contains(e.Message, "InputLayout = 4");
        Assert.AreEqual("InputLayout", e.ParamName);
    }

    private static LmuClassifierOptions Options(string features, LmuInputLayout layout, bool withLength)
    {
        var o = ClassifierSetup.Recurrent(epochs: 4);
        o.FeatureColumnName = features;
        o.Channels = 2;
        o.InputLayout = layout;
        o.LengthColumnName = withLength ? nameof(TwoChannelRow.Length) : null;
        o.Training.LearningRate = 2e-2;
        return o;
    }

    /// <summary>
    /// Class "up" or "down": the sign of a bump on channel B at a random step; channel A is noise. Reading the channels
    /// swapped or the steps scrambled changes what the network sees, so the two layouts agree only if both read right.
    /// </summary>
    private static TwoChannelRow[] Rows(int count, int seed, bool withLength)
    {
        var rng = new Random(seed);
        var rows = new TwoChannelRow[count];
        for (var i = 0; i < count; i++)
        {
            var up = rng.Next(2) == 0;
            var length = withLength ? rng.Next(6, TwoChannelRow.Steps + 1) : TwoChannelRow.Steps;
            var a = new float[TwoChannelRow.Steps];
            var b = new float[TwoChannelRow.Steps];
            var at = rng.Next(0, length - 2);
            for (var t = 0; t < length; t++)
            {
                a[t] = (float)(rng.NextDouble() - 0.5);
                b[t] = (float)(0.2 * (rng.NextDouble() - 0.5));
            }

            b[at] += up ? 1.5f : -1.5f;
            b[at + 1] += up ? 1f : -1f;
            var both = new float[2 * TwoChannelRow.Steps];
            for (var t = 0; t < TwoChannelRow.Steps; t++)
            {
                both[2 * t] = a[t];
                both[2 * t + 1] = b[t];
            }

            rows[i] = new TwoChannelRow { Label = up ? "up" : "down", A = a, B = b, Interleaved = both, Length = length };
        }

        return rows;
    }

    /// <summary>The first 8 steps of each channel (and of the interleaved twin).</summary>
    private static NarrowTwoChannelRow Narrow(TwoChannelRow r) => new() { Label = r.Label, A = r.A[..8], B = r.B[..8], Interleaved = r.Interleaved[..16] };

    private static float[][] Scores(MLContext ml, ITransformer model, IDataView data)
        => model.Transform(data).GetColumn<float[]>("Score").ToArray();

    private static double Worst(float[][] expected, float[][] actual)
    {
        Assert.HasCount(expected.Length, actual);
        return expected.Zip(actual, (e, a) => e.Zip(a, (x, y) => Math.Abs(x - y)).Max()).Max();
    }
}
