using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// Scores CSV rows with a loaded forecaster zip: each line is the target window (WindowSize values, oldest first)
/// followed by each covariate's window in the given order. The output has a header naming each value (Forecast[0], ...),
/// then per row the forecast vector followed by the other vectors of its size the model adds (the lower and upper
/// bounds of a forecaster trained with bound columns). Rows stream through (<see cref="CsvScoreWriter"/>); NaN and
/// Infinity are refused with the line and column. Touches no TorchSharp type, so it runs without libtorch (see
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
        var fields = new PredictColumns();
        foreach (var name in inputs)
        {
            fields.AddVector(name, window);
        }

        fields.AddDefaults(model, schema, string.Join(", ", inputs.Select(i => $"'{i}'")), "--covariates");
        var reader = new CsvRowReader(inputPath, fields, window, $"{inputs.Count} window(s) of {window}: {string.Join(", ", inputs)}");
        string[] written = [];
        var rows = CsvScoreWriter.Write(ml, model, reader, fields, scored => Outputs(scored, schema, forecastColumn, out written), outputPath);
        Console.WriteLine($"forecast {rows} rows from {inputPath} into {outputPath} ({string.Join(", ", written)})");
        CsvScoring.NoteWhenEmpty(rows, inputPath, outputPath);
        Console.WriteLine($"libtorch loaded: {(CsvScoring.TorchNativeLoaded() ? "yes" : "no")}");
        return 0;
    }

    /// <summary>The forecast, then every other vector of the same size the model adds: a forecaster's lower and upper bounds.</summary>
    private static DataViewSchema.Column[] Outputs(DataViewSchema scored, DataViewSchema input, string forecastColumn, out string[] names)
    {
        var forecast = scored.GetColumnOrNull(forecastColumn)
            ?? throw new InvalidDataException($"The model's output has no forecast column '{forecastColumn}'.");
        if (forecast.Type is not VectorDataViewType { Size: > 0 } f || f.ItemType != NumberDataViewType.Single)
        {
            throw new InvalidDataException($"The forecast column '{forecastColumn}' is {forecast.Type}; expected Vector<Single> of fixed size.");
        }

        var outputs = scored
            .Where(c => !c.IsHidden && c.Index != forecast.Index && input.GetColumnOrNull(c.Name) is null && c.Type.Equals(forecast.Type))
            .Prepend(forecast)
            .ToArray();
        names = outputs.Select(c => c.Name).ToArray();
        return outputs;
    }

    private static int Width(DataViewSchema schema, string name, string role)
    {
        var column = schema.GetColumnOrNull(name)
            ?? throw new InvalidDataException(
                $"The model's input schema has no {role} column '{name}' (column names match case included); its columns are " +
                $"{string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => $"'{c.Name}' ({c.Type})"))}.");
        return column.Type is VectorDataViewType { Size: > 0 } v && v.ItemType == NumberDataViewType.Single
            ? v.Size
            : throw new InvalidDataException($"The {role} column '{name}' is {column.Type}; expected Vector<Single> of fixed size.");
    }
}
