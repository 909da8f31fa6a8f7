using System.Globalization;
using System.IO.Compression;

namespace Lmu.MLNet.Samples.MainJob;

/// <summary>Reads the shipped 8 x 8 digits (Data/README.md) as sequences of 8 steps x 8 channels, scaled to [0, 1].</summary>
internal static class DigitsDataset
{
    public const int Steps = 8;
    public const int Channels = 8;

    /// <summary>Every fourth image (index 3, 7, ...) is the test split: fixed, no random state, about 25 % of each class.</summary>
    public static (TimeSeriesDataset Train, TimeSeriesDataset Test) Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The shipped digits file '{path}' is missing (it is copied next to the app at build time).", path);
        }

        var rows = new List<TimeSeriesRow>();
        using (var reader = new StreamReader(new GZipStream(File.OpenRead(path), CompressionMode.Decompress)))
        {
            var lineNumber = 0;
            while (reader.ReadLine() is { } line)
            {
                lineNumber++;
                if (line.Trim().Length == 0)
                {
                    continue;
                }

                var parts = line.Split(',');
                if (parts.Length != Steps * Channels + 1)
                {
                    throw new InvalidDataException($"{path} line {lineNumber}: {parts.Length} values; expected {Steps * Channels + 1} (64 pixels and the class).");
                }

                // Counts 0-16 per 4x4 block; /16 puts them in [0, 1] like the other inputs of the samples.
                var values = parts[..^1].Select(p => float.Parse(p, CultureInfo.InvariantCulture) / 16f).ToArray();
                rows.Add(new TimeSeriesRow(parts[^1].Trim(), values, Steps));
            }
        }

        var classes = rows.Select(r => r.Label).Distinct().OrderBy(l => int.Parse(l, CultureInfo.InvariantCulture)).ToArray();
        var train = rows.Where((_, i) => i % 4 != 3).ToList();
        var test = rows.Where((_, i) => i % 4 == 3).ToList();
        return (new TimeSeriesDataset("Digits", Channels, classes, train), new TimeSeriesDataset("Digits", Channels, classes, test));
    }
}
