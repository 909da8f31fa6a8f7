using System.Net;
using System.Text.Json;
using Lmu.MLNet.Tests.MLNet.Classification;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>
/// A small classifier zip (two epochs on the delayed-pattern task) with the rows to send and their offline answers:
/// the saved file loaded and scored in this process with ML.NET's batch Transform.
/// </summary>
internal sealed record ServedClassifierZip(string Zip, IReadOnlyList<PatternRow> Rows, float[][] Scores, string[] Labels, string[] Classes)
{
    /// <summary>Trains, saves to <paramref name="temp"/>/m.zip and scores <paramref name="rowCount"/> test rows offline.</summary>
    public static ServedClassifierZip Create(string temp, string mlTemp, int rowCount = 24)
    {
        var ml = ClassifierSetup.Context(mlTemp);
        var data = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(96, 41));
        var rows = DelayedPatternData.Rows(rowCount, 42);
        var zip = Path.Combine(temp, "m.zip");
        using (var model = ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 2)).Fit(data))
        {
            ml.Model.Save(model, data.Schema, zip);
        }

        var loaded = ml.Model.Load(zip, out _);
        try
        {
            var scored = loaded.Transform(ml.Data.LoadFromEnumerable(rows));
            var scores = scored.GetColumn<float[]>("Score").ToArray();
            VBuffer<ReadOnlyMemory<char>> keyValues = default;
            scored.Schema["PredictedLabel"].GetKeyValues(ref keyValues);
            var classes = keyValues.DenseValues().Select(v => v.ToString()).ToArray();
            var labels = scored.GetColumn<uint>("PredictedLabel").Select(k => classes[(int)k - 1]).ToArray();
            return new ServedClassifierZip(zip, rows, scores, labels, classes);
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }
    }

    /// <summary>The /predict body for row <paramref name="i"/>.</summary>
    public string Request(int i) => JsonSerializer.Serialize(new { Features = Rows[i].Features });

    /// <summary>Null when the answer is a 200 with exactly row <paramref name="i"/>'s offline scores and label; else what differs.</summary>
    public string? Mismatch(int i, HttpStatusCode status, string body)
    {
        if (status != HttpStatusCode.OK)
        {
            return $"{(int)status}: {body}";
        }

        using var json = JsonDocument.Parse(body);
        // System.Text.Json writes floats in their shortest round-trip form, so equality here is bit equality.
        var got = json.RootElement.GetProperty("Score").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        if (!got.SequenceEqual(Scores[i]))
        {
            return $"scores {string.Join(',', got)} != offline {string.Join(',', Scores[i])}";
        }

        var predicted = json.RootElement.GetProperty("PredictedLabel").GetString();
        return predicted == Labels[i] ? null : $"label {predicted} != offline {Labels[i]}";
    }
}
