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

        // One float per value (a float[1] per value took 32 bytes: 2.3 GB for a million windows of 24 steps).
        var perRow = horizonStep is null ? horizon : 1;
        var capacity = scored.GetRowCount() is { } n ? n * perRow : 0;
        if (capacity > Array.MaxLength)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"{scored.GetRowCount()} scored rows of {perRow} horizon step(s) make {capacity} rows, more than one array holds ({Array.MaxLength}); evaluate one horizonStep at a time or fewer windows."),
                nameof(scored));
        }

        // Arrays of the known size (grown by doubling when the data cannot count its rows), cut to the count at the end.
        var labels = new float[capacity];
        var scores = new float[capacity];
        var steps = new float[capacity];
        var count = 0;
        using (var cursor = scored.GetRowCursor([label, forecast]))
        {
            var getLabel = cursor.GetGetter<VBuffer<float>>(label);
            var getForecast = cursor.GetGetter<VBuffer<float>>(forecast);
            VBuffer<float> l = default, f = default;
            var actual = new float[horizon];
            var predicted = new float[horizon];
            long row = 0;
            while (cursor.MoveNext())
            {
                getLabel(ref l);
                getForecast(ref f);
                l.CopyTo(actual);
                f.CopyTo(predicted);
                for (var h = 1; h <= horizon; h++)
                {
                    if (horizonStep is not null && h != horizonStep)
                    {
                        continue;
                    }

                    if (count == labels.Length)
                    {
                        var grown = labels.Length < Array.MaxLength
                            ? (int)Math.Min(Array.MaxLength, Math.Max(1024L, 2L * labels.Length))
                            : throw new ArgumentException($"The scored rows make more than {Array.MaxLength} rows (one array's limit); evaluate one horizonStep at a time or fewer windows.", nameof(scored));
                        Array.Resize(ref labels, grown);
                        Array.Resize(ref scores, grown);
                        Array.Resize(ref steps, grown);
                    }

                    labels[count] = Finite(actual[h - 1], labelColumn, row, h);
                    scores[count] = Finite(predicted[h - 1], forecastColumn, row, h);
                    steps[count++] = h;
                }

                row++;
            }
        }

        if (count != labels.Length)
        {
            Array.Resize(ref labels, count);
            Array.Resize(ref scores, count);
            Array.Resize(ref steps, count);
        }

        return new ForecastRowsDataView(
        [
            (LabelColumnName, NumberDataViewType.Single, labels),
            (ScoreColumnName, NumberDataViewType.Single, scores),
            (StepColumnName, NumberDataViewType.Single, steps),
        ]);
    }

    private static float Finite(float v, string column, long row, int step) =>
        float.IsFinite(v)
            ? v
            : throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Column '{column}' is {v} at row {row}, horizon step {step}; regression metrics need finite values."));
}
