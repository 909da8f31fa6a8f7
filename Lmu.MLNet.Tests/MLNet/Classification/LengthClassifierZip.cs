using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Classification;

/// <summary>
/// A small classifier trained with a sequence-length column of a given type (Single, Int32, UInt32 or Int64), saved as
/// a zip, with test rows and their scores from that zip loaded and transformed in this process (the reference a new
/// process must reproduce bit for bit).
/// </summary>
internal sealed record LengthClassifierZip(IReadOnlyList<LengthClassifierZip.Row> Rows, float[][] Scores, uint[] Keys)
{
    /// <summary>Types a length column may have, as named in DataRows.</summary>
    public static readonly string[] Types = ["Single", "Int32", "UInt32", "Int64"];

    /// <summary>Trains on generated rows (a second or two), saves to <paramref name="zip"/> and scores <paramref name="testRows"/> rows.</summary>
    public static LengthClassifierZip Create(MLContext ml, string type, string zip, int epochs = 2, int testRows = 20) => type switch
    {
        "Single" => Create(ml, zip, epochs, testRows, n => (float)n),
        "Int32" => Create(ml, zip, epochs, testRows, n => n),
        "UInt32" => Create(ml, zip, epochs, testRows, n => (uint)n),
        "Int64" => Create(ml, zip, epochs, testRows, n => (long)n),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a length type"),
    };

    private static LengthClassifierZip Create<T>(MLContext ml, string zip, int epochs, int testRows, Func<int, T> convert)
        where T : notnull
    {
        var options = ClassifierSetup.Parallel(epochs);
        options.LengthColumnName = "Length";
        var train = ml.Data.LoadFromEnumerable(VariableLengthPatternData.Rows(60, 41, convert));
        var test = VariableLengthPatternData.Rows(testRows, 42, convert);
        using (var model = ml.Transforms.LmuClassifier(options).Fit(train))
        {
            ml.Model.Save(model, train.Schema, zip);
        }

        var loaded = ml.Model.Load(zip, out _);
        try
        {
            var scored = loaded.Transform(ml.Data.LoadFromEnumerable(test));
            var rows = test.Select(r => new Row(r.Features, r.Length)).ToArray();
            return new LengthClassifierZip(rows, scored.GetColumn<float[]>("Score").ToArray(), scored.GetColumn<uint>("PredictedLabel").ToArray());
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }
    }

    /// <summary>A test row: its padded features and its length in the column's type (boxed, so it serializes as that type).</summary>
    public sealed record Row(float[] Features, object Length);
}
