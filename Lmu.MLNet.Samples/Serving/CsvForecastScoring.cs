using System.Globalization;
using Lmu.MLNet.MLNet.Forecasting;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// Scores CSV rows with a loaded forecaster zip: each line is the target window (WindowSize values, oldest first)
/// followed by each covariate's window in the given order. The output has a header naming each value (Forecast[0], ...),
/// then per row the forecast vector followed by the other vectors of its size the model adds (the lower and upper
/// bounds of a forecaster trained with bound columns). Touches no TorchSharp type, so it runs without libtorch (see
/// <see cref="CsvScoring"/>).
/// </summary>
internal static class CsvForecastScoring
{
    public static int Run(
        MLContext ml, ITransformer model, DataViewSchema schema, string inputPath, string outputPath,
        string windowColumn, IReadOnlyList<string> covariates, string forecastColumn)
    {
        var window = Width(schema, windowColumn, "window");
        foreach (var c in covariates)
        {
            var w = Width(schema, c, "covariate window");
            if (w != window)
            {
                throw new InvalidDataException($"Covariate window column '{c}' holds {w} values; the window column '{windowColumn}' holds {window}.");
            }
        }

        var inputs = new List<string> { windowColumn };
        inputs.AddRange(covariates);
        var width = window * inputs.Count;
        var rows = File.ReadLines(inputPath)
            .Where(l => l.Trim().Length > 0)
            .Select((line, i) =>
            {
                var values = line.Split(',').Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray();
                return values.Length == width
                    ? values
                    : throw new InvalidDataException(
                        $"{inputPath} line {i + 1}: {values.Length} values; the model expects {width} ({inputs.Count} window(s) of {window}: {string.Join(", ", inputs)}).");
            })
            .ToList();
        var view = new FloatColumnsDataView(
            inputs.Select((name, k) => (name, window, rows.Select(r => r.AsSpan(k * window, window).ToArray()).ToArray())).ToList());
        var scored = model.Transform(view);
        var forecast = scored.Schema.GetColumnOrNull(forecastColumn)
            ?? throw new InvalidDataException($"The model's output has no forecast column '{forecastColumn}'.");
        if (forecast.Type is not VectorDataViewType { Size: > 0 } f || f.ItemType != NumberDataViewType.Single)
        {
            throw new InvalidDataException($"The forecast column '{forecastColumn}' is {forecast.Type}; expected Vector<Single> of fixed size.");
        }

        // The forecast, then every other vector of the same size the model adds: a forecaster's lower and upper bounds.
        var outputs = scored.Schema
            .Where(c => !c.IsHidden && c.Index != forecast.Index && schema.GetColumnOrNull(c.Name) is null && c.Type.Equals(forecast.Type))
            .Prepend(forecast)
            .ToArray();
        var vectors = outputs.Select(c => scored.GetColumn<float[]>(c).ToArray()).ToArray();
        using (var writer = new StreamWriter(outputPath))
        {
            writer.WriteLine(string.Join(',', outputs.SelectMany(c => Enumerable.Range(0, ((VectorDataViewType)c.Type).Size).Select(k => $"{c.Name}[{k}]"))));
            for (var i = 0; i < vectors[0].Length; i++)
            {
                // "R" round-trips every float32 exactly, so callers can compare bit for bit.
                writer.WriteLine(string.Join(',', vectors.SelectMany(v => v[i]).Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
            }
        }

        Console.WriteLine($"forecast {vectors[0].Length} rows from {inputPath} into {outputPath} ({string.Join(", ", outputs.Select(c => c.Name))})");
        Console.WriteLine($"libtorch loaded: {(CsvScoring.TorchNativeLoaded() ? "yes" : "no")}");
        return 0;
    }

    private static int Width(DataViewSchema schema, string name, string role)
    {
        var column = schema.GetColumnOrNull(name)
            ?? throw new InvalidDataException($"The model's input schema has no {role} column '{name}'.");
        return column.Type is VectorDataViewType { Size: > 0 } v && v.ItemType == NumberDataViewType.Single
            ? v.Size
            : throw new InvalidDataException($"The {role} column '{name}' is {column.Type}; expected Vector<Single> of fixed size.");
    }
}
