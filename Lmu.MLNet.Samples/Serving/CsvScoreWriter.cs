using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// Streams a model's scores to CSV: one cursor over the scored view of a lazily read input, each row written as it is
/// scored, so memory does not grow with the number of rows. The file is written beside the output under a temporary
/// name and moved into place only when every row scored, so a bad row leaves no output (and no partial file).
/// </summary>
internal static class CsvScoreWriter
{
    /// <summary>
    /// Writes the header (vector columns as <c>Name[k]</c>, keys and text as <c>Name</c>, a key with class names followed by
    /// <c>NameValue</c>, the class it stands for) and one line per row; returns the row count.
    /// </summary>
    public static long Write(MLContext ml, ITransformer model, CsvRowReader reader, PredictColumns columns, Func<DataViewSchema, IReadOnlyList<DataViewSchema.Column>> outputs, string outputPath)
    {
        var input = ml.Data.LoadFromEnumerable(reader.Read(), columns.Definition());
        var scored = model.Transform(input);
        var chosen = outputs(scored.Schema);
        return Cli.PartialOutputFile.Write(outputPath, writer =>
        {
            long rows = 0;
            using var cursor = scored.GetRowCursor(chosen);
            writer.WriteLine(string.Join(',', chosen.SelectMany(Header)));
            var write = chosen.Select(c => Writer(cursor, c)).ToArray();
            while (Next(cursor, reader))
            {
                for (var i = 0; i < write.Length; i++)
                {
                    if (i > 0)
                    {
                        writer.Write(',');
                    }

                    write[i](writer);
                }

                writer.WriteLine();
                rows++;
            }

            return rows;
        });
    }

    private static bool Next(DataViewRowCursor cursor, CsvRowReader reader)
    {
        try
        {
            return cursor.MoveNext();
        }
        catch (Exception) when (reader.Failure is not null)
        {
            // The bad line's own message, whatever ML.NET wrapped it in.
            throw reader.Failure;
        }
    }

    private static IEnumerable<string> Header(DataViewSchema.Column c) =>
        c.Type is VectorDataViewType v ? Enumerable.Range(0, v.Size).Select(k => $"{c.Name}[{k}]")
        : c.Type is KeyDataViewType && ServingColumn.Names(c) is not null ? [c.Name, ValueColumn(c.Name)]
        : [c.Name];

    /// <summary>The header of the class a key stands for, written beside the key (MapKeyToValue's usual output name).</summary>
    public static string ValueColumn(string keyColumn) => $"{keyColumn}Value";

    private static Action<TextWriter> Writer(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        if (column.Type is VectorDataViewType)
        {
            var getter = cursor.GetGetter<VBuffer<float>>(column);
            VBuffer<float> buffer = default;
            return w =>
            {
                getter(ref buffer);
                var first = true;
                foreach (var v in buffer.DenseValues())
                {
                    if (!first)
                    {
                        w.Write(',');
                    }

                    // "R" round-trips every float32 exactly, so callers can compare bit for bit.
                    w.Write(v.ToString("R", CultureInfo.InvariantCulture));
                    first = false;
                }
            };
        }

        if (column.Type is TextDataViewType)
        {
            // A label carried as text (the experiment's models map the key back to the label's values).
            var text = cursor.GetGetter<ReadOnlyMemory<char>>(column);
            ReadOnlyMemory<char> label = default;
            return w =>
            {
                text(ref label);
                w.Write(Quoted(label.ToString()));
            };
        }

        var key = cursor.GetGetter<uint>(column);
        uint value = 0;

        // The class each key stands for beside it (found by QA: the file held key numbers only, the names went to stdout).
        // Key 0 is the missing class (NaN scores): its name is left empty.
        var names = ServingColumn.Names(column);
        return w =>
        {
            key(ref value);
            w.Write(value.ToString(CultureInfo.InvariantCulture));
            if (names is not null)
            {
                w.Write(',');
                w.Write(value == 0 || value > names.Count ? string.Empty : Quoted(names[(int)value - 1]));
            }
        };
    }

    // RFC 4180: a field with a comma, a quote or a line break is quoted, its quotes doubled.
    private static string Quoted(string field) =>
        field.AsSpan().IndexOfAny(",\"\r\n") < 0 ? field : $"\"{field.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
}
