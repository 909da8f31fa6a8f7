using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Forecasting;

/// <summary>
/// Turns scored forecast rows (a Vector&lt;Single, Horizon&gt; label and forecast per row) into one scalar row per
/// horizon step, so ML.NET's regression metrics apply: <c>mlContext.Regression.Evaluate(ForecastRegressionRows.Create(scored))</c>
/// gives the pooled MAE (MeanAbsoluteError) and RMSE (RootMeanSquaredError) that <see cref="ForecastEvaluator"/>
/// reports, and with <c>horizonStep</c> the metrics of one step ahead. sMAPE, MASE and OWA have no regression
/// counterpart (they are per-series ratios); use <see cref="ForecastEvaluator"/> for them.
/// </summary>
public static class ForecastRegressionRows
{
    /// <summary>Name of the scalar label column of the result ("Label", ML.NET's regression default).</summary>
    public const string LabelColumnName = "Label";

    /// <summary>Name of the scalar score column of the result ("Score", ML.NET's regression default).</summary>
    public const string ScoreColumnName = "Score";

    /// <summary>Name of the column holding each row's horizon step, 1 for one step ahead (Single).</summary>
    public const string StepColumnName = "HorizonStep";

    /// <summary>
    /// Reads <paramref name="scored"/> once and returns an in-memory IDataView with the columns
    /// <see cref="LabelColumnName"/>, <see cref="ScoreColumnName"/> and <see cref="StepColumnName"/> (all Single):
    /// per input row, one row per horizon step (steps 1..Horizon in order), or only step <paramref name="horizonStep"/>.
    /// </summary>
    /// <param name="scored">Forecaster output, e.g. <c>model.Transform(LmuForecastWindows.FromSeries(...))</c>.</param>
    /// <param name="labelColumn">Actual values, Vector&lt;Single, Horizon&gt;. Default "Label".</param>
    /// <param name="forecastColumn">Forecast values, Vector&lt;Single, Horizon&gt;. Default "Forecast".</param>
    /// <param name="horizonStep">Keep only this step (1-based); null (default) keeps every step.</param>
    /// <exception cref="ArgumentException">A missing or mistyped column, vectors of different or unknown sizes, a step
    /// outside 1..Horizon, or a non-finite value (named by row and step).</exception>
    public static IDataView Create(IDataView scored, string labelColumn = "Label", string forecastColumn = "Forecast", int? horizonStep = null)
    {
        ArgumentNullException.ThrowIfNull(scored);
        var forecast = ForecastDataReader.Column(scored.Schema, forecastColumn, "forecast", null);
        var horizon = forecast.Type is VectorDataViewType { Size: > 0 } v && v.ItemType == NumberDataViewType.Single
            ? v.Size
            : throw new ArgumentException($"The forecast column '{forecastColumn}' has type {forecast.Type}; expected Vector<Single> of fixed size.");
        var label = ForecastDataReader.Column(scored.Schema, labelColumn, "label", NumberDataViewType.Single, horizon);
        if (horizonStep is { } s && (s < 1 || s > horizon))
        {
            throw new ArgumentException($"horizonStep = {s} must be in 1..{horizon} (the forecast's horizon).", nameof(horizonStep));
        }

        var labels = new List<float[]>();
        var scores = new List<float[]>();
        var steps = new List<float[]>();
        using (var cursor = scored.GetRowCursor([label, forecast]))
        {
            var getLabel = cursor.GetGetter<VBuffer<float>>(label);
            var getForecast = cursor.GetGetter<VBuffer<float>>(forecast);
            VBuffer<float> l = default, f = default;
            long row = 0;
            while (cursor.MoveNext())
            {
                getLabel(ref l);
                getForecast(ref f);
                var actual = l.DenseValues().ToArray();
                var predicted = f.DenseValues().ToArray();
                for (var h = 1; h <= horizon; h++)
                {
                    if (horizonStep is not null && h != horizonStep)
                    {
                        continue;
                    }

                    labels.Add([Finite(actual[h - 1], labelColumn, row, h)]);
                    scores.Add([Finite(predicted[h - 1], forecastColumn, row, h)]);
                    steps.Add([h]);
                }

                row++;
            }
        }

        return new FloatColumnsDataView(
        [
            (LabelColumnName, 0, labels.ToArray()),
            (ScoreColumnName, 0, scores.ToArray()),
            (StepColumnName, 0, steps.ToArray()),
        ]);
    }

    private static float Finite(float v, string column, long row, int step) =>
        float.IsFinite(v)
            ? v
            : throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Column '{column}' is {v} at row {row}, horizon step {step}; regression metrics need finite values."));
}
