using Microsoft.ML.Data;

namespace Lmu.MLNet.Samples.Soak;

/// <summary>Generated data for the soak workloads (nothing read from disk, so the soak runs anywhere).</summary>
internal static class SoakData
{
    /// <summary>Steps per classification row.</summary>
    public const int Steps = 64;

    /// <summary>A classification row: a short shape (up, down or bump) early in a noisy sequence.</summary>
    public sealed class SequenceRow
    {
        [VectorType(Steps)]
        public float[] Features { get; set; } = [];

        public string Label { get; set; } = string.Empty;
    }

    /// <summary>One value of one series, in time order.</summary>
    public sealed class SeriesValue
    {
        public float Value { get; set; }

        public string SeriesId { get; set; } = string.Empty;
    }

    public static IEnumerable<SequenceRow> Sequences(int count, int seed)
    {
        var rng = new Random(seed);
        string[] labels = ["up", "down", "bump"];
        for (var i = 0; i < count; i++)
        {
            var label = labels[i % labels.Length];
            var x = new float[Steps];
            for (var t = 0; t < Steps; t++)
            {
                x[t] = (float)(0.3 * (rng.NextDouble() - 0.5));
            }

            for (var t = 0; t < 10; t++)
            {
                x[t + 2] += label switch
                {
                    "up" => t / 10f,
                    "down" => -t / 10f,
                    _ => (float)Math.Sin(Math.PI * t / 9),
                };
            }

            yield return new SequenceRow { Features = x, Label = label };
        }
    }

    /// <summary>Hourly-looking series: daily cycle, trend and noise, a different level and phase per series.</summary>
    public static IEnumerable<SeriesValue> Series(int series, int length, int seed)
    {
        var rng = new Random(seed);
        for (var s = 0; s < series; s++)
        {
            double level = 50 + (200 * rng.NextDouble()), phase = 24 * rng.NextDouble(), trend = 0.05 * (rng.NextDouble() - 0.5);
            for (var t = 0; t < length; t++)
            {
                var v = level * (1 + (0.3 * Math.Sin(2 * Math.PI * (t + phase) / 24))) + (trend * t) + (5 * (rng.NextDouble() - 0.5));
                yield return new SeriesValue { Value = (float)v, SeriesId = $"S{s}" };
            }
        }
    }
}
