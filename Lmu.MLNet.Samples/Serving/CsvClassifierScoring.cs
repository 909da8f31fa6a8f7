using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// Scores CSV rows with a loaded classifier zip. Each line is the flattened features (T x C values in the trained layout,
/// step-major by default), then, for a model trained with a sequence-length column, the row's length n (a whole number,
/// 1 &lt;= n &lt;= T). The output
/// has a header, then per row the Score values, the PredictedLabel key (0, the missing key, where the scores are
/// NaN) and PredictedLabelValue, the class that key stands for (empty for the missing key). Rows stream through (<see cref="CsvScoreWriter"/>): memory stays flat in the number of rows, and a bad row
/// leaves no output. Touches no TorchSharp type, so it runs without libtorch (see <see cref="CsvScoring"/>).
/// </summary>
internal static class CsvClassifierScoring
{
    public static int Run(
        MLContext ml, ITransformer model, DataViewSchema schema, string inputPath, string outputPath, CsvScoring.ClassifierColumns columns, string windowColumn)
    {
        var features = columns.Features;
        var column = schema.GetColumnOrNull(features)
            ?? throw new InvalidDataException(
                $"The model's input schema has neither the features column '{features}' nor the forecast window column '{windowColumn}'. A forecaster saved with " +
                "its series rows' schema (mlContext.Model.Save(model, data.Schema, path)) is this case: save it with the window layout's schema (LmuModelFile.Save, " +
                "or Model.Save(model, LmuForecastWindows.FromSeries(...).Schema, path)).");
        var width = column.Type is VectorDataViewType { Size: > 0 } v && v.ItemType == NumberDataViewType.Single
            ? v.Size
            : throw new InvalidDataException($"Column '{features}' is {column.Type}; expected Vector<Single> of fixed size.");
        var steps = ModelInputs.Steps(features, width, columns.Channels);
        var length = LengthColumn(model, schema, columns);
        var fields = new PredictColumns();
        fields.AddVector(features, width);
        if (length is { } l)
        {
            fields.AddLength(l.Name, l.Type);
        }

        fields.AddDefaults(model, schema, $"'{features}'{(length is null ? string.Empty : $" and the length column '{length.Value.Name}'")}");
        var reader = new CsvRowReader(inputPath, fields, steps, $"{width} values of '{features}'");
        var rows = CsvScoreWriter.Write(ml, model, reader, fields, s => [s["Score"], s["PredictedLabel"]], outputPath);
        Console.WriteLine($"scored {rows} rows from {inputPath} into {outputPath}{(length is null ? string.Empty : $" (length column '{length.Value.Name}', {length.Value.Type})")}");
        CsvScoring.NoteWhenEmpty(rows, inputPath, outputPath);
        if (model.GetOutputSchema(schema).GetColumnOrNull("PredictedLabel") is { Type: KeyDataViewType } predicted && predicted.HasKeyValues())
        {
            // Which Score value is which class (the CSV's header numbers them).
            VBuffer<ReadOnlyMemory<char>> names = default;
            predicted.GetKeyValues(ref names);
            Console.WriteLine($"classes: {string.Join(", ", names.DenseValues().Select((n, i) => $"PredictedLabel {i + 1} = Score[{i}] = '{n}'"))}");
        }
        if (fields.Defaulted.Count > 0)
        {
            Console.WriteLine($"input column(s) {string.Join(", ", fields.Defaulted.Select(c => $"'{c}'"))} given a missing value: only a MapValueToKey reads them and no score depends on them");
        }

        Console.WriteLine($"libtorch loaded: {(CsvScoring.TorchNativeLoaded() ? "yes" : "no")}");
        return 0;
    }

    /// <summary>The length column named by --length-column, else the one the model's ONNX scorer reads (if any).</summary>
    private static DataViewSchema.Column? LengthColumn(ITransformer model, DataViewSchema schema, CsvScoring.ClassifierColumns columns)
    {
        if (columns.Length is { } name)
        {
            var named = schema.GetColumnOrNull(name)
                ?? throw new InvalidDataException(
                    $"The model's input schema has no length column '{name}'; its columns are {string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => $"'{c.Name}'"))}.");
            return ModelInputs.LengthTypes.Contains(named.Type)
                ? named
                : throw new InvalidDataException($"Length column '{name}' is {named.Type}; expected Single, Int32, UInt32 or Int64.");
        }

        var found = ModelInputs.OnnxLengthInputs(model, schema, columns.Features);
        return found.Count switch
        {
            0 => null,
            1 => schema[found[0]],
            _ => throw new InvalidDataException(
                $"The model reads several length-typed columns ({string.Join(", ", found.Select(c => $"'{c}'"))}); name the sequence-length column with --length-column."),
        };
    }
}
