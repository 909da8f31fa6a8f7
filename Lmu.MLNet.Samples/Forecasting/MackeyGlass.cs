namespace Lmu.MLNet.Samples.Forecasting;

/// <summary>
/// Mackey-Glass series as in the LMU paper's experiment: dx/dt = 0.2 x(t-17) / (1 + x(t-17)^10) - 0.1 x(t), Euler
/// with 10 sub-steps per sample, a history of 170 sub-steps around 1.2 (uniform +-0.1, or constant), then tanh(x - 1).
/// </summary>
internal static class MackeyGlass
{
    public const int Tau = 17;
    public const int SubSteps = 10;

    /// <summary>Raw x values (before tanh); <paramref name="rng"/> null gives the constant history 1.2.</summary>
    public static double[] Raw(int length, Random? rng)
    {
        var history = new Queue<double>(Enumerable.Range(0, Tau * SubSteps).Select(_ => 1.2 + (rng is null ? 0 : 0.2 * (rng.NextDouble() - 0.5))));
        var x = 1.2;
        var result = new double[length];
        for (var t = 0; t < length; t++)
        {
            for (var s = 0; s < SubSteps; s++)
            {
                var delayed = history.Dequeue();
                history.Enqueue(x);
                x += (0.2 * delayed / (1.0 + Math.Pow(delayed, 10)) - 0.1 * x) / SubSteps;
            }

            result[t] = x;
        }

        return result;
    }

    /// <summary>Max |difference| between the constant-history generator and the shared reference file's x column.</summary>
    public static double CheckAgainstReference(string csv)
    {
        var reference = SampleCsv.Rows(csv).Select(r => SampleCsv.Number(csv, r.Line, 1, SampleCsv.Field(csv, r, 1))).ToArray();
        var ours = Raw(reference.Length, null);
        return reference.Select((v, i) => Math.Abs(v - ours[i])).Max();
    }
}
