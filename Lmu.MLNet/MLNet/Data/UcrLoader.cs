using System.Globalization;

namespace Lmu.MLNet.Data;

/// <summary>
/// Reads the UCR/UEA time-series classification archives: univariate <c>.tsv</c> (2018 archive: label first, then the
/// values, tab separated) and sktime <c>.ts</c> (header lines starting with '@', dimensions separated by ':', values by
/// ',', the class label last; multivariate and variable length). Missing values ("NaN" or "?") become NaN.
/// </summary>
public static class UcrLoader
{
    /// <summary>Loads <c>{directory}/{name}_TRAIN</c> and <c>_TEST</c> (.tsv preferred, else .ts).</summary>
    /// <exception cref="FileNotFoundException">Neither file form exists.</exception>
    public static (TimeSeriesDataset Train, TimeSeriesDataset Test) LoadSplit(string directory, string name)
    {
        var train = Load(Find(directory, name, "TRAIN"));
        var test = Load(Find(directory, name, "TEST"));
        // One label order for both splits: a .tsv split may miss a class; the union keeps keys aligned.
        var labels = train.ClassLabels.SequenceEqual(test.ClassLabels)
            ? train.ClassLabels
            : SortLabels(train.ClassLabels.Union(test.ClassLabels));
        return (new TimeSeriesDataset(name, train.Channels, labels, train.Rows), new TimeSeriesDataset(name, test.Channels, labels, test.Rows));
    }

    /// <summary>Loads one file, by extension.</summary>
    public static TimeSeriesDataset Load(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".tsv" => LoadTsv(path),
        ".ts" => LoadTs(path),
        var e => throw new ArgumentException($"'{path}': unknown extension '{e}' (expected .tsv or .ts).", nameof(path)),
    };

    /// <summary>Univariate .tsv: one series per line, label first.</summary>
    public static TimeSeriesDataset LoadTsv(string path)
    {
        var rows = new List<TimeSeriesRow>();
        var lineNo = 0;
        foreach (var line in StrictTextLines.Read(path))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var parts = line.Split('\t', ',');
            if (parts.Length < 2)
            {
                throw new InvalidDataException($"'{path}' line {lineNo}: expected a label and at least one value.");
            }

            var values = new float[parts.Length - 1];
            for (var i = 1; i < parts.Length; i++)
            {
                values[i - 1] = Number(parts[i], path, lineNo, $"column {i + 1}");
            }

            // Trailing NaNs pad shorter series in variable-length .tsv files.
            var n = values.Length;
            while (n > 1 && float.IsNaN(values[n - 1]))
            {
                n--;
            }

            rows.Add(new TimeSeriesRow(NormaliseLabel(parts[0]), values[..n], n));
        }

        // An empty file failed later with "steps ('0') must be greater than or equal to '1'", naming no file (found by QA).
        return rows.Count == 0
            ? throw new InvalidDataException($"'{path}': the file has no series (no non-blank line).")
            : new TimeSeriesDataset(DatasetName(path), 1, SortLabels(rows.Select(r => r.Label)), rows);
    }

    /// <summary>sktime .ts: multivariate and variable-length series; the header's class labels give the key order.</summary>
    public static TimeSeriesDataset LoadTs(string path)
    {
        var rows = new List<TimeSeriesRow>();
        List<string>? declared = null;
        var inData = false;
        int? channels = null;
        var lineNo = 0;
        foreach (var raw in StrictTextLines.Read(path))
        {
            lineNo++;
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or '%')
            {
                continue;
            }

            if (!inData)
            {
                if (line[0] != '@')
                {
                    throw new InvalidDataException($"'{path}' line {lineNo}: expected a header line starting with '@' before @data.");
                }

                var words = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                switch (words[0].ToLowerInvariant())
                {
                    case "@data":
                        inData = true;
                        break;
                    case "@timestamps" when words.Length > 1 && words[1].Equals("true", StringComparison.OrdinalIgnoreCase):
                        throw new NotSupportedException($"'{path}': .ts files with time stamps are not supported.");
                    case "@classlabel" when words.Length > 1 && words[1].Equals("true", StringComparison.OrdinalIgnoreCase):
                        declared = words.Skip(2).Select(NormaliseLabel).ToList();
                        // QA: "1 1.0 2" (or "a a b") failed later with .NET's "An item with the same key has already been added".
                        if (declared.GroupBy(l => l, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
                        {
                            var spellings = words.Skip(2).Where(w => NormaliseLabel(w) == twice.Key).Distinct(StringComparer.Ordinal).ToList();
                            throw new InvalidDataException(
                                $"'{path}' line {lineNo}: @classLabel lists the class '{twice.Key}' twice" +
                                (spellings.Count > 1 ? $" ({string.Join(" and ", spellings.Select(w => $"'{w}'"))} are the same whole number, read as one class)" : string.Empty) +
                                "; name each class once.");
                        }

                        break;
                    case "@classlabel":
                        throw new NotSupportedException($"'{path}': only classification files (@classLabel true) are supported.");
                }

                continue;
            }

            var dims = line.Split(':');
            if (dims.Length < 2)
            {
                throw new InvalidDataException($"'{path}' line {lineNo}: expected dimensions separated by ':' and a class label last.");
            }

            var c = dims.Length - 1;
            if (channels is not null && channels != c)
            {
                throw new InvalidDataException($"'{path}' line {lineNo}: {c} dimensions, but earlier cases have {channels}.");
            }

            channels = c;
            var label = NormaliseLabel(dims[^1]);
            if (declared is not null && !declared.Contains(label, StringComparer.Ordinal))
            {
                // QA: such rows were read as a class of their own that no key held, and scored as wrong without a word.
                throw new InvalidDataException($"'{path}' line {lineNo}: class label '{label}' is not among the @classLabel classes ({string.Join(", ", declared)}).");
            }

            var series = new float[c][];
            for (var k = 0; k < c; k++)
            {
                series[k] = dims[k].Split(',').Select((v, i) => Number(v, path, lineNo, $"dimension {k + 1}, value {i + 1}")).ToArray();
            }

            if (series.Any(s => s.Length != series[0].Length))
            {
                throw new InvalidDataException($"'{path}' line {lineNo}: dimensions have different lengths ({string.Join(", ", series.Select(s => s.Length))}).");
            }

            // Missing values ('?') after every dimension's last value shorten the series, as trailing NaNs do in .tsv
            // files; one before the end stays NaN for the caller to fill or refuse.
            var length = series.Max(s => Array.FindLastIndex(s, v => !float.IsNaN(v)) + 1);
            if (length == 0)
            {
                throw new InvalidDataException($"'{path}' line {lineNo}: every value of the series is missing ('?').");
            }

            // .ts stores each dimension contiguously; our rows are time-major.
            var values = new float[length * c];
            for (var t = 0; t < length; t++)
            {
                for (var k = 0; k < c; k++)
                {
                    values[t * c + k] = series[k][t];
                }
            }

            rows.Add(new TimeSeriesRow(label, values, length));
        }

        if (!inData)
        {
            throw new InvalidDataException($"'{path}': no @data section.");
        }

        if (rows.Count == 0)
        {
            throw new InvalidDataException($"'{path}': the @data section holds no series.");
        }

        return new TimeSeriesDataset(DatasetName(path), channels ?? 1, declared ?? SortLabels(rows.Select(r => r.Label)), rows);
    }

    /// <summary>
    /// Labels in a stable order: numerically when all parse as numbers (so "10" follows "9"), else ordinally.
    /// </summary>
    internal static IReadOnlyList<string> SortLabels(IEnumerable<string> labels)
    {
        var distinct = labels.Distinct(StringComparer.Ordinal).ToList();
        var numeric = distinct.All(l => double.TryParse(l, NumberStyles.Float, CultureInfo.InvariantCulture, out _));
        return numeric
            ? distinct.OrderBy(l => double.Parse(l, CultureInfo.InvariantCulture)).ToList()
            : distinct.OrderBy(l => l, StringComparer.Ordinal).ToList();
    }

    private static string Find(string directory, string name, string split)
    {
        foreach (var ext in new[] { ".tsv", ".ts" })
        {
            var path = Path.Combine(directory, $"{name}_{split}{ext}");
            if (File.Exists(path))
            {
                return path;
            }
        }

        throw new FileNotFoundException($"No {name}_{split}.tsv or .ts in '{directory}'.");
    }

    private static float Number(string text, string path, int lineNo, string where)
    {
        var s = text.Trim();
        if (s is "?" or "NaN" or "nan")
        {
            return float.NaN;
        }

        if (!float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
        {
            throw new InvalidDataException($"'{path}' line {lineNo}, {where}: '{s}' is not a number.");
        }

        // QA: 1e39 read as Infinity, which the featurizer refused later naming no file (and a network trained first).
        // Any spelling of NaN ("NAN", "-nan" as C's printf writes it) stays a missing value (regression QA).
        return float.IsFinite(v) || float.IsNaN(v)
            ? v
            : throw new InvalidDataException($"'{path}' line {lineNo}, {where}: '{s}' is not a finite number (or lies beyond float32's range).");
    }

    // .tsv labels are written as numbers ("1", "1.0", "-1"); one spelling per class keeps keys stable.
    internal static string NormaliseLabel(string label)
    {
        var s = label.Trim();
        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d == Math.Floor(d) && Math.Abs(d) < 1e9
            ? ((long)d).ToString(CultureInfo.InvariantCulture)
            : s;
    }

    private static string DatasetName(string path)
    {
        var name = Path.GetFileNameWithoutExtension(path);
        var cut = name.LastIndexOf('_');
        return cut > 0 ? name[..cut] : name;
    }
}
