using System.Globalization;
using System.Text;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>Small generated files for the <c>classify</c> and <c>forecast</c> commands' tests.</summary>
internal static class CliFiles
{
    /// <summary>
    /// A CSV with a header "label,t1..tT": class "bump" rows hold a positive Gaussian bump, class "dip" rows a negative
    /// one, each at a random position, plus noise (the pooled features find the sign wherever the shape sits).
    /// </summary>
    public static string Classification(string path, int rowsPerClass, int steps, int seed)
    {
        var rng = new Random(seed);
        var text = new StringBuilder("label," + string.Join(',', Enumerable.Range(1, steps).Select(t => $"t{t}")) + "\n");
        for (var i = 0; i < 2 * rowsPerClass; i++)
        {
            var sign = i % 2 == 0 ? 1.0 : -1.0;
            var centre = 4 + rng.NextDouble() * (steps - 8);
            var values = Enumerable.Range(0, steps).Select(t => sign * Math.Exp(-0.5 * Math.Pow((t - centre) / 1.5, 2)) + 0.1 * Gaussian(rng));
            text.Append(sign > 0 ? "bump" : "dip").Append(',').AppendLine(string.Join(',', values.Select(F)));
        }

        File.WriteAllText(path, text.ToString());
        return path;
    }

    /// <summary>
    /// Long-layout series "id,t,value,promo": <paramref name="series"/> series of <paramref name="length"/> values with a
    /// period-12 season, a trend and noise; promo is a 0/1 covariate that adds to the value.
    /// </summary>
    public static string Forecasting(string path, int series, int length, int seed)
    {
        var rng = new Random(seed);
        var text = new StringBuilder("id,t,value,promo\n");
        for (var s = 0; s < series; s++)
        {
            var level = 50 + 20 * s;
            for (var t = 0; t < length; t++)
            {
                var promo = rng.Next(5) == 0 ? 1 : 0;
                var value = level + 0.1 * t + 10 * Math.Sin(2 * Math.PI * t / 12) + 5 * promo + Gaussian(rng);
                text.AppendLine($"s{s},{t},{F(value)},{promo}");
            }
        }

        File.WriteAllText(path, text.ToString());
        return path;
    }

    private static string F(double v) => v.ToString("0.####", CultureInfo.InvariantCulture);

    private static double Gaussian(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
