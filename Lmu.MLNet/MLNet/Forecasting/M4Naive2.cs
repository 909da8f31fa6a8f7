namespace Lmu.MLNet.Forecasting;

/// <summary>
/// The M4 competition's Naive2 benchmark, written from the competition's published definition: a naive forecast of
/// the seasonally adjusted series, re-seasonalised with multiplicative classical decomposition indices, where the
/// series counts as seasonal only if it passes the 90% autocorrelation test at lag m.
/// </summary>
/// <remarks>
/// The last value is divided by its position's seasonal index. Where that index is 0 (a shop's zero sales on every
/// Sunday give a Sunday index of 0, and a series ending on a Sunday gave 0/0 = NaN, which failed `lmu forecast` after
/// training; found by QA), the seasonally adjusted series is undefined there, and its naive forecast is its last
/// defined value: the last value whose position has a positive index, re-seasonalised as usual (so the Sundays ahead
/// are 0 and the other days are not). Until 0.4.0 such a series got the plain naive forecast, a flat 0 for the whole
/// horizon, and every backtest origin of a horizon of whole weeks ended on that Sunday (sMAPE 171 at each; metrics
/// QA). Any other series keeps its seasonal forecast, zeros and all (a first version fell back for every series with a
/// zero, and a weekly series with one outage day lost its seasonality: sMAPE 0.76 -> 20.7; found by review). A
/// negative or non-finite index (a series with negative values, which multiplicative decomposition does not fit) gives
/// the plain naive forecast. M4's series are all positive.
/// </remarks>
public static class M4Naive2
{
    // One-sided 90% normal quantile used by the M4 seasonality test.
    private const double CriticalValue = 1.645;

    /// <summary>Naive2 forecast of the next <paramref name="horizon"/> values.</summary>
    /// <param name="series">In-sample values, oldest first.</param>
    /// <param name="horizon">Steps to forecast (48 for M4 Hourly).</param>
    /// <param name="seasonality">Periods per cycle m (24 for M4 Hourly); 1 = no seasonality.</param>
    /// <exception cref="ArgumentException">No values, a value that is not finite, a horizon or a seasonality below 1.</exception>
    public static double[] Forecast(IReadOnlyList<double> series, int horizon, int seasonality)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (series.Count == 0)
        {
            throw new ArgumentException("Naive2 needs at least one in-sample value.", nameof(series));
        }

        if (horizon < 1)
        {
            throw new ArgumentException($"The horizon {horizon} must be at least 1.", nameof(horizon));
        }

        // Metrics QA: a seasonality of 0 or below was taken as 1, and a NaN in the series gave a forecast without a word.
        if (seasonality < 1)
        {
            throw new ArgumentException($"The seasonality m = {seasonality} must be at least 1 (1 = no seasonality).", nameof(seasonality));
        }

        for (var t = 0; t < series.Count; t++)
        {
            if (!double.IsFinite(series[t]))
            {
                throw new ArgumentException($"series[{t}] is {series[t]}; Naive2 needs finite in-sample values.", nameof(series));
            }
        }

        var n = series.Count;
        var f = new double[horizon];
        var index = seasonality > 1 && IsSeasonal(series, seasonality) ? SeasonalIndices(series, seasonality) : null;
        // Position t of the series (0-based) has seasonal index index[t mod m]; the cycle starts at the first value. The
        // seasonally adjusted series is undefined where the index is 0, so its naive forecast is its last defined value.
        var lastDefined = n - 1;
        while (index is not null && lastDefined > 0 && index[lastDefined % seasonality] == 0)
        {
            lastDefined--;
        }

        if (index is not null && index[lastDefined % seasonality] > 0 && index.All(double.IsFinite))
        {
            var last = series[lastDefined] / index[lastDefined % seasonality];
            for (var h = 0; h < horizon; h++)
            {
                f[h] = last * index[(n + h) % seasonality];
            }
        }
        else
        {
            Array.Fill(f, series[n - 1]);
        }

        return f;
    }

    /// <summary>
    /// The M4 seasonality test: seasonal when the series has at least 3m values, m is within the autocorrelation lags
    /// R's <c>acf</c> computes by default (floor(10 log10 n), capped at n - 1), and
    /// |r_m| &gt; 1.645 sqrt((1 + 2 sum_{k&lt;m} r_k^2) / n), r_k the sample autocorrelation.
    /// </summary>
    public static bool IsSeasonal(IReadOnlyList<double> series, int seasonality)
    {
        var n = series.Count;
        if (seasonality <= 1 || n < 3 * seasonality)
        {
            return false;
        }

        // R's acf returns no value beyond its default lag.max, and the M4 code then treats the series as non-seasonal.
        var maxLag = Math.Min((int)Math.Floor(10 * Math.Log10(n)), n - 1);
        if (seasonality > maxLag)
        {
            return false;
        }

        var acf = Autocorrelations(series, seasonality);
        double sum = 1;
        for (var k = 1; k < seasonality; k++)
        {
            sum += 2 * acf[k] * acf[k];
        }

        return Math.Abs(acf[seasonality]) > CriticalValue * Math.Sqrt(sum / n);
    }

    /// <summary>
    /// Multiplicative classical decomposition indices (R's <c>decompose(type = "multiplicative")$figure</c>): ratios of
    /// the series to its centred moving average (2 x m for even m), averaged per cycle position, normalised to mean 1.
    /// </summary>
    public static double[] SeasonalIndices(IReadOnlyList<double> series, int seasonality)
    {
        var n = series.Count;
        var m = seasonality;
        if (n < 2 * m)
        {
            throw new ArgumentException($"Classical decomposition needs at least two cycles (2 x {m} values); the series has {n}.", nameof(series));
        }

        // Centred moving average: weights 1/m over m+1 values with halves at both ends for even m, m values for odd m.
        var half = m / 2;
        var sums = new double[m];
        var counts = new int[m];
        for (var t = half; t < n - half; t++)
        {
            double trend = 0;
            if (m % 2 == 0)
            {
                trend = 0.5 * (series[t - half] + series[t + half]);
                for (var j = t - half + 1; j < t + half; j++)
                {
                    trend += series[j];
                }
            }
            else
            {
                for (var j = t - half; j <= t + half; j++)
                {
                    trend += series[j];
                }
            }

            trend /= m;
            sums[t % m] += series[t] / trend;
            counts[t % m]++;
        }

        var figure = new double[m];
        for (var i = 0; i < m; i++)
        {
            figure[i] = sums[i] / counts[i];
        }

        var mean = figure.Average();
        for (var i = 0; i < m; i++)
        {
            figure[i] /= mean;
        }

        return figure;
    }

    // r_k = sum_{t<n-k} (x_t - mean)(x_{t+k} - mean) / sum (x_t - mean)^2, k = 0..maxLag (R's acf).
    private static double[] Autocorrelations(IReadOnlyList<double> x, int maxLag)
    {
        var n = x.Count;
        var mean = x.Average();
        double c0 = 0;
        for (var t = 0; t < n; t++)
        {
            c0 += (x[t] - mean) * (x[t] - mean);
        }

        var r = new double[maxLag + 1];
        for (var k = 0; k <= maxLag; k++)
        {
            double c = 0;
            for (var t = 0; t + k < n; t++)
            {
                c += (x[t] - mean) * (x[t + k] - mean);
            }

            r[k] = c0 == 0 ? 0 : c / c0;
        }

        return r;
    }
}
