namespace Lmu.MLNet.Samples.Cli;

/// <summary>The seasonal naive forecast: each step repeats the value one season earlier (the last value when m = 1).</summary>
internal static class SeasonalNaive
{
    public static double[] Forecast(IReadOnlyList<double> history, int horizon, int seasonality)
    {
        var n = history.Count;
        var m = Math.Max(1, seasonality);
        if (n < m)
        {
            throw new ArgumentException($"The seasonal naive forecast needs a full season ({m} values); the history has {n}.");
        }

        return Enumerable.Range(0, horizon).Select(h => history[n - m + (h % m)]).ToArray();
    }
}
