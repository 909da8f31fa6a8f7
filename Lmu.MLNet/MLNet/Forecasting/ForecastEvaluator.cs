using System.Globalization;
namespace Lmu.MLNet.Forecasting;

/// <summary>
/// Forecast accuracy measures with the M4 competition's definitions (Makridakis, Spiliotis &amp; Assimakopoulos 2020):
/// sMAPE, MASE with seasonality m, OWA relative to Naive2; plus MAE, RMSE and NRMSE.
/// </summary>
public static class ForecastEvaluator
{
    /// <summary>Scores a set of forecasts.</summary>
    /// <param name="outcomes">The forecasts with their actual values (and in-sample histories for MASE).</param>
    /// <param name="seasonality">The MASE lag m (24 for M4 Hourly, 7 for daily data with a weekly cycle); default 1.</param>
    /// <exception cref="ArgumentException">No outcomes, mismatched lengths, non-finite values, m &lt; 1, or an
    /// in-sample history not longer than m.</exception>
    public static ForecastMetrics Evaluate(IEnumerable<ForecastOutcome> outcomes, int seasonality = 1)
    {
        ArgumentNullException.ThrowIfNull(outcomes);
        if (seasonality < 1)
        {
            throw new ArgumentException($"The seasonality m = {seasonality} must be at least 1.", nameof(seasonality));
        }

        // The actual values' mean and sum of squared deviations by Welford's update: sqrt(E[y^2] - E[y]^2) cancelled for
        // large values of small spread (NRMSE 1.32 for 1.67 at 1e8 + {0, 1, 2, 3}; metrics QA).
        double absSum = 0, sqSum = 0, smapeSum = 0, maseSum = 0, actualMean = 0, actualDeviations = 0;
        long points = 0;
        var count = 0;
        var maseAll = true;
        foreach (var o in outcomes)
        {
            Check(o, count);
            smapeSum += Smape(o.Actual, o.Forecast);
            if (o.InSample is null)
            {
                maseAll = false;
            }
            else
            {
                maseSum += Mase(o.InSample, o.Actual, o.Forecast, seasonality);
            }

            for (var i = 0; i < o.Actual.Length; i++)
            {
                var e = o.Actual[i] - o.Forecast[i];
                absSum += Math.Abs(e);
                sqSum += e * e;
                var delta = o.Actual[i] - actualMean;
                actualMean += delta / (points + i + 1);
                actualDeviations += delta * (o.Actual[i] - actualMean);
            }

            points += o.Actual.Length;
            count++;
        }

        if (count == 0 || points == 0)
        {
            throw new ArgumentException("No forecasts to evaluate.", nameof(outcomes));
        }

        var rmse = Math.Sqrt(sqSum / points);
        var std = Math.Sqrt(actualDeviations / points);
        return new ForecastMetrics(
            absSum / points,
            rmse,
            smapeSum / count,
            maseAll ? maseSum / count : null,
            std > 0 ? rmse / std : double.NaN,
            points,
            count);
    }

    /// <summary>
    /// M4 sMAPE of one forecast, in percent: (200/h) sum |y - f| / (|y| + |f|). A point where both are 0 counts 0
    /// (the M4 data has no zeros, so the competition never needed a rule).
    /// </summary>
    public static double Smape(IReadOnlyList<double> actual, IReadOnlyList<double> forecast)
    {
        double s = 0;
        for (var i = 0; i < actual.Count; i++)
        {
            var d = Math.Abs(actual[i]) + Math.Abs(forecast[i]);
            s += d == 0 ? 0 : 200 * Math.Abs(actual[i] - forecast[i]) / d;
        }

        return s / actual.Count;
    }

    /// <summary>
    /// M4 MASE of one forecast: mean |y - f| / scale, scale = mean over t = m..n-1 of |x_t - x_{t-m}| on the in-sample
    /// series x (the in-sample seasonal naive error).
    /// </summary>
    /// <exception cref="ArgumentException">The history has no more than m values, or is constant at lag m.</exception>
    public static double Mase(IReadOnlyList<double> inSample, IReadOnlyList<double> actual, IReadOnlyList<double> forecast, int seasonality)
    {
        if (inSample.Count <= seasonality)
        {
            throw new ArgumentException(
                $"MASE needs an in-sample history longer than the seasonality m = {seasonality}; it has {inSample.Count} values.", nameof(inSample));
        }

        double scale = 0;
        for (var t = seasonality; t < inSample.Count; t++)
        {
            scale += Math.Abs(inSample[t] - inSample[t - seasonality]);
        }

        scale /= inSample.Count - seasonality;
        if (scale == 0)
        {
            throw new ArgumentException($"MASE is undefined: the in-sample series repeats exactly at lag m = {seasonality}.", nameof(inSample));
        }

        double e = 0;
        for (var i = 0; i < actual.Count; i++)
        {
            e += Math.Abs(actual[i] - forecast[i]);
        }

        return e / actual.Count / scale;
    }

    /// <summary>
    /// M4 Overall Weighted Average: ((sMAPE / sMAPE_Naive2) + (MASE / MASE_Naive2)) / 2, each measure averaged over all
    /// series first (so OWA is not an average of per-series ratios). Naive2 scores exactly 1.
    /// </summary>
    public static double Owa(double smape, double mase, double naive2Smape, double naive2Mase)
    {
        if (!(naive2Smape > 0) || !(naive2Mase > 0))
        {
            throw new ArgumentException($"Naive2's sMAPE ({naive2Smape}) and MASE ({naive2Mase}) must be positive.");
        }

        return (smape / naive2Smape + mase / naive2Mase) / 2;
    }

    private static void Check(ForecastOutcome o, int index)
    {
        ArgumentNullException.ThrowIfNull(o);
        ArgumentNullException.ThrowIfNull(o.Actual);
        ArgumentNullException.ThrowIfNull(o.Forecast);
        if (o.Actual.Length == 0 || o.Actual.Length != o.Forecast.Length)
        {
            throw new ArgumentException(
                $"Outcome {index}: Actual has {o.Actual.Length} values and Forecast {o.Forecast.Length}; they must be equal and non-zero.");
        }

        Finite(o.Actual, index, nameof(o.Actual));
        Finite(o.Forecast, index, nameof(o.Forecast));
        if (o.InSample is not null)
        {
            Finite(o.InSample, index, nameof(o.InSample));
        }
    }

    private static void Finite(double[] values, int index, string what)
    {
        for (var i = 0; i < values.Length; i++)
        {
            if (!double.IsFinite(values[i]))
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Outcome {index}: {what}[{i}] is {values[i]}; forecasts are scored on finite values only."));
            }
        }
    }
}
