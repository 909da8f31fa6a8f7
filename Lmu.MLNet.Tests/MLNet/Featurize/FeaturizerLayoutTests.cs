using Lmu.MLNet.Classification;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;

namespace Lmu.MLNet.Tests.MLNet.Featurize;

/// <summary>
/// <see cref="LmuPooledFeaturizerOptions.InputLayout"/> and <see cref="LmuFeaturizerOptions.InputLayout"/>: a
/// channel-major column (each channel's steps one after another, as <c>Concatenate</c> of one column per channel makes)
/// gives exactly the features of its step-major twin.
/// </summary>
[TestClass]
public sealed class FeaturizerLayoutTests
{
    private const int Steps = 16, Channels = 3, Width = Steps * Channels;

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void ChannelMajorRowsGiveTheFeaturesOfTheirStepMajorTwins(bool withLengths)
    {
        var ml = new MLContext(seed: 1);
        var train = FeaturizerData.Random(10, Steps, Channels, seed: 2);
        var rows = FeaturizerData.Random(6, Steps, Channels, seed: 3);
        if (withLengths)
        {
            // Valid steps first in step-major rows; in the twins, first in each channel's block (zeros after them).
            float[] lengths = [16, 11, 7, 3, 1, 16];
            for (var r = 0; r < rows.Count; r++)
            {
                rows[r].Length = lengths[r];
                Array.Clear(rows[r].Features, (int)lengths[r] * Channels, Width - ((int)lengths[r] * Channels));
            }
        }

        using var stepMajor = Fit(ml, train, LmuInputLayout.StepMajor, withLengths);
        using var channelMajor = Fit(ml, Twins(train), LmuInputLayout.ChannelMajor, withLengths);
        var expected = stepMajor.Transform(FeaturizerData.Load(ml, rows, Width)).GetColumn<float[]>("P").ToArray();
        var actual = channelMajor.Transform(FeaturizerData.Load(ml, Twins(rows), Width)).GetColumn<float[]>("P").ToArray();
        Assert.IsTrue(expected.Any(f => f.Any(v => v != 0)), "the features must not be all zeros");
        for (var r = 0; r < rows.Count; r++)
        {
            // The graph transposes first and then computes as for the step-major row; only the transposed tensor's
            // memory order can change a float32 summation order (1 ulp seen), hence 1e-6 relative, not bit equality.
            AssertClose(expected[r], actual[r], $"row {r}");
        }

        // The standalone graph reads the channel-major row as the carried one does.
        using var session = new InferenceSession(ExportedOnnx.Export(channelMajor));
        var twin = Twins(rows);
        for (var r = 0; r < rows.Count; r++)
        {
            var inputs = withLengths
                ? new (string, float[], long[])[] { ("Features", twin[r].Features, [Width]), ("Length", [twin[r].Length], [1, 1]) }
                : [("Features", twin[r].Features, [Width])];
            using var result = ExportedOnnx.Run(session, inputs, "P");
            AssertClose(expected[r], result[0].GetTensorDataAsSpan<float>().ToArray(), $"exported graph, row {r}");
        }
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void TheMemoryFeaturizerReadsChannelMajorRowsAsTheirStepMajorTwins(bool withLengths)
    {
        // LmuFeaturize had no layout option: a Concatenate of channel columns was read as step-major, silently (found by QA).
        var ml = new MLContext(seed: 1);
        var rows = FeaturizerData.Random(6, Steps, Channels, seed: 4);
        if (withLengths)
        {
            float[] lengths = [16, 12, 5, 2, 1, 9];
            for (var r = 0; r < rows.Count; r++)
            {
                rows[r].Length = lengths[r];
                Array.Clear(rows[r].Features, (int)lengths[r] * Channels, Width - ((int)lengths[r] * Channels));
            }
        }

        LmuFeaturizerTransformer Fit(LmuInputLayout layout, List<SeqRow> data) => new LmuFeaturizerEstimator(new LmuFeaturizerOptions
        {
            OutputColumnName = "P", Channels = Channels, InputLayout = layout, Order = 6, WindowPositions = [7], DecodedDelays = [0.5],
            Normalization = LmuFeatureNormalization.ZScorePerChannel, LengthColumnName = withLengths ? "Length" : null,
        }).Fit(FeaturizerData.Load(ml, data, Width));

        using var stepMajor = Fit(LmuInputLayout.StepMajor, rows);
        using var channelMajor = Fit(LmuInputLayout.ChannelMajor, Twins(rows));
        var expected = stepMajor.Transform(FeaturizerData.Load(ml, rows, Width)).GetColumn<float[]>("P").ToArray();
        var actual = channelMajor.Transform(FeaturizerData.Load(ml, Twins(rows), Width)).GetColumn<float[]>("P").ToArray();
        var misread = stepMajor.Transform(FeaturizerData.Load(ml, Twins(rows), Width)).GetColumn<float[]>("P").ToArray();
        for (var r = 0; r < rows.Count; r++)
        {
            AssertClose(expected[r], actual[r], $"row {r}");
            // (One step z-scored per channel is all zeros, whichever way it is read.)
            Assert.IsFalse(rows[r].Length != 1 && expected[r].Zip(misread[r]).All(p => Math.Abs(p.First - p.Second) <= 1e-6 * Math.Max(1, Math.Abs(p.First))), $"row {r} read as step-major must differ");
        }

        var e = Assert.ThrowsExactly<ArgumentException>(() => new LmuFeaturizerEstimator(new LmuFeaturizerOptions { InputLayout = (LmuInputLayout)5 }));
        StringAssert.Contains(e.Message, "InputLayout");
    }

    [TestMethod]
    public void AStepsByChannelsShapeIsReadAsStepMajorAndAnyOtherShapeIsRefused()
    {
        // ML.NET QA: Vector<Single, 4, 4> was featurized as 16 steps of one channel without a word, where the classifier
        // refused it. A [steps, channels] shape is step-major row by row, so it reads as the flat rows when Channels is its
        // last dimension; any other shape is refused, naming the fix.
        var ml = new MLContext(1);
        var rows = FeaturizerData.Random(5, Steps, Channels, seed: 6);
        var flat = FeaturizerData.Load(ml, rows, Width);
        var def = SchemaDefinition.Create(typeof(SeqRow));
        def[nameof(SeqRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, Steps, Channels);
        var shaped = ml.Data.LoadFromEnumerable(rows, def);
        using var fromFlat = ml.Transforms.LmuFeaturize("P", "Features", order: 4, channels: Channels).Fit(flat);
        using var fromShaped = ml.Transforms.LmuFeaturize("P", "Features", order: 4, channels: Channels).Fit(shaped);
        CollectionAssert.AreEqual(
            fromFlat.Transform(flat).GetColumn<float[]>("P").SelectMany(v => v).ToArray(),
            fromShaped.Transform(shaped).GetColumn<float[]>("P").SelectMany(v => v).ToArray());

        var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.LmuFeaturize("P", "Features", order: 4).Fit(shaped));
        StringAssert.Contains(e.Message, $"input column 'Features' has shape Vector<Single, {Steps}, {Channels}>; a multi-dimensional input must be [steps, channels] with its last dimension equal to Channels (1). Set Channels = {Channels}");
        e = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.LmuPooledFeaturize("P", "Features", windows: 2, projectionsPerWindow: 2).Fit(shaped));
        StringAssert.Contains(e.Message, "LmuPooledFeaturize: input column 'Features' has shape");
    }

    [TestMethod]
    public void ABadValueIsNamedByItsStepAndChannel()
    {
        var ml = new MLContext(seed: 1);
        var train = Twins(FeaturizerData.Random(4, Steps, Channels, seed: 2));
        // Channel-major slot c * T + t is step t of channel c.
        train[2].Features[(2 * Steps) + 5] = float.NaN;
        var e = Assert.ThrowsExactly<InvalidDataException>(() => Fit(ml, train, LmuInputLayout.ChannelMajor, withLengths: false));
        StringAssert.Contains(e.Message, "row 2, step 5, channel 2");
    }

    [TestMethod]
    public void AnUndefinedLayoutIsRefused()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => new LmuPooledFeaturizerEstimator(new LmuPooledFeaturizerOptions { InputLayout = (LmuInputLayout)5 }));
        StringAssert.Contains(e.Message, "InputLayout");
    }

    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.HasCount(expected.Length, actual);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.AreEqual(expected[i], actual[i], 1e-6 * Math.Max(1, Math.Abs(expected[i])), $"{what}, slot {i}");
        }
    }

    private static LmuPooledFeaturizerTransformer Fit(MLContext ml, List<SeqRow> rows, LmuInputLayout layout, bool withLengths) =>
        new LmuPooledFeaturizerEstimator(new LmuPooledFeaturizerOptions
        {
            OutputColumnName = "P", Channels = Channels, InputLayout = layout, Windows = 4, ProjectionsPerWindow = 6, Order = 5, Seed = 3,
            LengthColumnName = withLengths ? "Length" : null,
        }).Fit(FeaturizerData.Load(ml, rows, Width));

    /// <summary>The rows with every [T, C] block transposed to [C, T].</summary>
    private static List<SeqRow> Twins(List<SeqRow> rows) => rows.Select(r =>
    {
        var twin = new float[Width];
        for (var t = 0; t < Steps; t++)
            for (var c = 0; c < Channels; c++) twin[(c * Steps) + t] = r.Features[(t * Channels) + c];
        return new SeqRow { Features = twin, Length = r.Length, Label = r.Label };
    }).ToList();
}
