using Microsoft.ML;

namespace Lmu.MLNet.Samples.Scale;

/// <summary>
/// The <c>scale</c> command's datasets, written in ML.NET's binary IDataView format from generated rows (bounded
/// memory whatever the size): classification rows of Steps x Channels floats with a two-class label, and forecasting
/// series (a series id and a value per row, series after series).
/// </summary>
internal static class ScaleData
{
    public const int Steps = 64;
    public const int Channels = 4;
    public const int SeriesLength = 4_096;

    /// <summary>Float32 bytes of one classification row (features and label).</summary>
    public const long ClassifyRowBytes = ((long)Steps * Channels * 4) + 4;

    /// <summary>Float32 bytes of one forecasting row (id and value).</summary>
    public const long ForecastRowBytes = 8;

    /// <summary>
    /// Classification: class k (of 2) is a noisy sine whose frequency depends on k, one phase per channel; the
    /// label is a float 0/1 mapped to a key before training.
    /// </summary>
    public static long WriteClassify(MLContext ml, string path, long rows)
    {
        var view = new GeneratedRowsView(
            rows,
            ("Label", 0, (r, v) => v[0] = r % 2),
            ("Features", Steps * Channels, (r, v) =>
            {
                var noise = new Random(unchecked((int)r));
                var f = r % 2 == 0 ? 0.11f : 0.17f;
                for (var t = 0; t < Steps; t++)
                {
                    for (var c = 0; c < Channels; c++)
                    {
                        v[(t * Channels) + c] = MathF.Sin((f * t) + c) + (0.5f * (noise.NextSingle() - 0.5f));
                    }
                }
            }));
        return Save(ml, view, path);
    }

    /// <summary>Forecasting: series of <see cref="SeriesLength"/> points, a daily-like cycle of 24 with a per-series level, plus noise.</summary>
    public static long WriteForecast(MLContext ml, string path, long rows)
    {
        var view = new GeneratedRowsView(
            rows,
            ("SeriesId", 0, (r, v) => v[0] = r / SeriesLength),
            ("Value", 0, (r, v) =>
            {
                var s = r / SeriesLength;
                var t = r % SeriesLength;
                var noise = (float)((((r * 2654435761L) >> 7) & 1023) / 1023.0) - 0.5f;
                v[0] = (s % 17) + (5 * MathF.Sin(2 * MathF.PI * t / 24f)) + noise;
            }));
        return Save(ml, view, path);
    }

    private static long Save(MLContext ml, IDataView view, string path)
    {
        var temp = path + ".partial";
        using var cleanup = new Cli.InterruptCleanup(temp, path);
        using (var stream = File.Create(temp))
        {
            ml.Data.SaveAsBinary(view, stream, keepHidden: false);
        }

        cleanup.Commit(() => File.Move(temp, path, overwrite: true));
        return new FileInfo(path).Length;
    }
}
