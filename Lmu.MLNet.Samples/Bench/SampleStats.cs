namespace Lmu.MLNet.Samples.Bench;

/// <summary>Median and interquartile range of a set of samples (linear interpolation between order statistics).</summary>
internal readonly record struct SampleStats(double Median, double Q1, double Q3, int Count)
{
    /// <summary>Statistics of <paramref name="samples"/> (at least one).</summary>
    public static SampleStats Of(IReadOnlyCollection<double> samples)
    {
        if (samples.Count == 0) throw new ArgumentException("No samples.", nameof(samples));
        var s = samples.OrderBy(v => v).ToArray();
        return new SampleStats(Quantile(s, 0.5), Quantile(s, 0.25), Quantile(s, 0.75), s.Length);
    }

    private static double Quantile(double[] sorted, double p)
    {
        double h = (sorted.Length - 1) * p;
        int lo = (int)Math.Floor(h);
        int hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
    }

    /// <summary>True when the interquartile ranges of the two sets share no point.</summary>
    public static bool Separable(SampleStats a, SampleStats b) => a.Q3 < b.Q1 || b.Q3 < a.Q1;

    /// <summary>"median [Q1, Q3]" with the given format.</summary>
    public string Format(string format) =>
        $"{Median.ToString(format, System.Globalization.CultureInfo.InvariantCulture)} [{Q1.ToString(format, System.Globalization.CultureInfo.InvariantCulture)}, {Q3.ToString(format, System.Globalization.CultureInfo.InvariantCulture)}]";
}
