using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// Scores CSV rows with a loaded classifier zip. Each line is the flattened features (T x C values, step-major), then,
/// for a model trained with a sequence-length column, the row's length n (a whole number, 1 &lt;= n &lt;= T). The output
/// has a header, then per row the Score values and the PredictedLabel key. Every row is checked before anything is
/// written. Touches no TorchSharp type, so it runs without libtorch (see <see cref="CsvScoring"/>).
/// </summary>
internal static class CsvClassifierScoring
{
    public static int Run(
        MLContext ml, ITransformer model, DataViewSchema schema, string inputPath, string outputPath, CsvScoring.ClassifierColumns columns, string windowColumn)
    {
        var features = columns.Features;
        var column = schema.GetColumnOrNull(features)
            ?? throw new InvalidDataException($"The model's input schema has neither the features column '{features}' nor the forecast window column '{windowColumn}'.");
        var width = column.Type is VectorDataViewType { Size: > 0 } v && v.ItemType == NumberDataViewType.Single
            ? v.Size
            : throw new InvalidDataException($"Column '{features}' is {column.Type}; expected Vector<Single> of fixed size.");
        if (columns.Channels < 1 || width % columns.Channels != 0)
        {
            throw new InvalidDataException($"--channels {columns.Channels}: the features column '{features}' holds {width} values, which is not a positive multiple of it.");
        }

        var steps = width / columns.Channels;
        var length = LengthColumn(model, schema, columns);
        var unread = ModelInputs.Required(model, schema).Where(c => c != features && c != length?.Name).ToArray();
        if (unread.Length > 0)
        {
            throw new InvalidDataException(
                $"The model also needs the input column(s) {string.Join(", ", unread.Select(c => $"'{c}'"))}, which predict does not read " +
                $"(it reads '{features}'{(length is null ? string.Empty : $" and the length column '{length.Value.Name}'")}).");
        }

        var reader = new RowReader(inputPath, features, width, length?.Name, steps);
        var rows = File.ReadLines(inputPath).Select((line, i) => (line, i)).Where(l => l.line.Trim().Length > 0)
            .Select(l => reader.Read(l.line, l.i + 1)).ToList();
        var definition = SchemaDefinition.Create(typeof(ClassifierRow));
        var lengthMember = length is null ? null : "Length" + length.Value.Type.RawType.Name;
        definition.RemoveAll(c => c.MemberName != nameof(ClassifierRow.Features) && c.MemberName != lengthMember);
        var featureMember = definition.Single(c => c.MemberName == nameof(ClassifierRow.Features));
        featureMember.ColumnName = features;
        featureMember.ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        if (length is { } l)
        {
            definition.Single(c => c.MemberName == lengthMember).ColumnName = l.Name;
        }

        var scored = model.Transform(ml.Data.LoadFromEnumerable(rows, definition));
        var scores = scored.GetColumn<float[]>("Score").ToArray();
        var keys = scored.GetColumn<uint>("PredictedLabel").ToArray();
        using (var writer = new StreamWriter(outputPath))
        {
            var classes = ((VectorDataViewType)scored.Schema["Score"].Type).Size;
            writer.WriteLine(string.Join(',', Enumerable.Range(0, classes).Select(k => $"Score[{k}]").Append("PredictedLabel")));
            for (var i = 0; i < scores.Length; i++)
            {
                // "R" round-trips every float32 exactly, so callers can compare bit for bit.
                writer.WriteLine(string.Join(',', scores[i].Select(s => s.ToString("R", CultureInfo.InvariantCulture))) + "," + keys[i].ToString(CultureInfo.InvariantCulture));
            }
        }

        Console.WriteLine($"scored {scores.Length} rows from {inputPath} into {outputPath}{(length is null ? string.Empty : $" (length column '{length.Value.Name}', {length.Value.Type})")}");
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

    /// <summary>Parses and checks one CSV line: the features, then the length when the model has a length column.</summary>
    private sealed class RowReader(string path, string features, int width, string? length, int steps)
    {
        public ClassifierRow Read(string line, int number)
        {
            var fields = line.Split(',');
            var expected = width + (length is null ? 0 : 1);
            if (fields.Length != expected)
            {
                throw new InvalidDataException(length is not null && fields.Length == width
                    ? $"{path} line {number}: the length column '{length}' is missing; expected {width} values of '{features}', then the length (a whole number from 1 to {steps}), {expected} values in all; got {fields.Length}."
                    : $"{path} line {number}: {fields.Length} values; the model expects {expected} ({width} values of '{features}'{(length is null ? string.Empty : $", then the length column '{length}'")}).");
            }

            var row = new ClassifierRow { Features = new float[width] };
            for (var k = 0; k < width; k++)
            {
                row.Features[k] = float.TryParse(fields[k], NumberStyles.Float, CultureInfo.InvariantCulture, out var f)
                    ? f
                    : throw new InvalidDataException($"{path} line {number}: value {k + 1} of '{features}' is '{fields[k].Trim()}'; expected a number.");
            }

            if (length is not null)
            {
                var n = Length(fields[width].Trim(), number);
                (row.LengthSingle, row.LengthInt32, row.LengthUInt32, row.LengthInt64) = (n, n, (uint)n, n);
            }

            return row;
        }

        private int Length(string text, int number)
        {
            if (text.Length == 0)
            {
                throw new InvalidDataException($"{path} line {number}: the length column '{length}' is missing (empty last value); expected a whole number from 1 to {steps}.");
            }

            // Doubles parse every integer up to 2^53 exactly, so "3", "3.0" and "3e0" all read as 3 and "2.5" is caught.
            var ok = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value);
            return ok && value == Math.Floor(value) && value >= 1 && value <= steps
                ? (int)value
                : throw new InvalidDataException(
                    $"{path} line {number}: length column '{length}' is '{text}'; expected a whole number from 1 to {steps} (the sequence length: {width} values / {width / steps} channel(s)).");
        }
    }

    /// <summary>A scoring row: the features and the length in each type a length column may have (one is mapped).</summary>
    private sealed class ClassifierRow
    {
        public float[] Features { get; set; } = [];

        public float LengthSingle { get; set; }

        public int LengthInt32 { get; set; }

        public uint LengthUInt32 { get; set; }

        public long LengthInt64 { get; set; }
    }
}
