using System.Globalization;
using Lmu.MLNet.MLNet;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// Loads a saved model zip and scores CSV rows with it. Deliberately touches no TorchSharp type (nor any type whose
/// static constructor would), so it runs where the libtorch native libraries are absent; it reports whether any was
/// loaded into the process anyway.
/// </summary>
internal static class CsvScoring
{
    public static int Run(string modelPath, string inputPath, string outputPath, string featureColumn, ForecastColumns forecast)
    {
        var ml = new MLContext();
        var model = LmuModelFile.Load(ml, modelPath, out var schema);
        // A forecaster's zip has the window column and no features column: score it as forecast rows.
        if (schema.GetColumnOrNull(featureColumn) is null && schema.GetColumnOrNull(forecast.Window) is not null)
        {
            return CsvForecastScoring.Run(ml, model, schema, inputPath, outputPath, forecast.Window, forecast.Covariates, forecast.Forecast);
        }

        var column = schema.GetColumnOrNull(featureColumn)
            ?? throw new InvalidDataException($"The model's input schema has neither the features column '{featureColumn}' nor the forecast window column '{forecast.Window}'.");
        var width = (column.Type as VectorDataViewType)?.Size
            ?? throw new InvalidDataException($"Column '{featureColumn}' is {column.Type}; expected a fixed-size vector.");
        var rows = File.ReadLines(inputPath)
            .Where(l => l.Trim().Length > 0)
            .Select((line, i) =>
            {
                var values = line.Split(',').Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray();
                return values.Length == width
                    ? new FeatureRow { Features = values }
                    : throw new InvalidDataException($"{inputPath} line {i + 1}: {values.Length} values; the model expects {width}.");
            })
            .ToList();
        var definition = SchemaDefinition.Create(typeof(FeatureRow));
        definition[0].ColumnName = featureColumn;
        definition[0].ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        var scored = model.Transform(ml.Data.LoadFromEnumerable(rows, definition));
        var scores = scored.GetColumn<float[]>("Score").ToArray();
        var keys = scored.GetColumn<uint>("PredictedLabel").ToArray();
        using (var writer = new StreamWriter(outputPath))
        {
            for (var i = 0; i < scores.Length; i++)
            {
                // "R" round-trips every float32 exactly, so callers can compare bit for bit.
                writer.WriteLine(string.Join(',', scores[i].Select(s => s.ToString("R", CultureInfo.InvariantCulture))) + "," + keys[i].ToString(CultureInfo.InvariantCulture));
            }
        }

        (model as IDisposable)?.Dispose();
        Console.WriteLine($"scored {scores.Length} rows from {inputPath} into {outputPath}");
        Console.WriteLine($"libtorch loaded: {(TorchNativeLoaded() ? "yes" : "no")}");
        return 0;
    }

    /// <summary>True when a libtorch/libc10/LibTorchSharp native library is mapped into this process (Linux only; false elsewhere).</summary>
    public static bool TorchNativeLoaded()
    {
        const string maps = "/proc/self/maps";
        if (!File.Exists(maps))
        {
            return false;
        }

        return File.ReadLines(maps).Any(l => l.Contains("libtorch", StringComparison.Ordinal) || l.Contains("libc10", StringComparison.Ordinal)
                                              || l.Contains("LibTorchSharp", StringComparison.Ordinal));
    }

    /// <summary>Column names used when the zip holds a forecaster.</summary>
    public sealed record ForecastColumns(string Window, IReadOnlyList<string> Covariates, string Forecast);

    private sealed class FeatureRow
    {
        public float[] Features { get; set; } = [];
    }
}
