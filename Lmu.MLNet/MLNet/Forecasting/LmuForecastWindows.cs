using Microsoft.ML;

namespace Lmu.MLNet.Forecasting;

/// <summary>
/// Cuts a series (one value per row, rows in time order) into the window layout the fitted forecaster scores:
/// <c>windowColumn</c> Vector&lt;Single, WindowSize&gt;, one Vector&lt;Single, WindowSize&gt; per covariate (same
/// name), and <c>labelColumn</c> Vector&lt;Single, Horizon&gt; with the values that followed, for evaluation.
/// </summary>
public static partial class LmuForecastWindows
{
    /// <summary>Every window (stride 1) of every series, in order, cut from the series as the view is read (the view holds the series, not the windows).</summary>
    /// <param name="data">Rows in time order (grouped by <paramref name="seriesIdColumn"/> when given).</param>
    /// <param name="seriesColumn">Scalar Single series column.</param>
    /// <param name="windowSize">Window length T.</param>
    /// <param name="horizon">Values that follow each window (the label); at least 1.</param>
    /// <param name="covariates">Scalar Single covariate columns. Default none.</param>
    /// <param name="seriesIdColumn">Series id column for stacked series. Default null (one series).</param>
    /// <param name="windowColumn">Output window column. Default "Window".</param>
    /// <param name="labelColumn">Output label column. Default "Label".</param>
    /// <exception cref="ArgumentException">A missing or mistyped column, a non-finite value, or a series shorter than windowSize + horizon.</exception>
    public static IDataView FromSeries(
        IDataView data, string seriesColumn, int windowSize, int horizon, IReadOnlyList<string>? covariates = null,
        string? seriesIdColumn = null, string windowColumn = "Window", string labelColumn = "Label")
    {
        ArgumentNullException.ThrowIfNull(data);
        if (windowSize < 1 || horizon < 1)
        {
            throw new ArgumentException($"WindowSize = {windowSize} and Horizon = {horizon} must both be at least 1.");
        }

        covariates ??= [];
        var series = ForecastDataReader.ReadSeries(data, seriesColumn, seriesIdColumn, covariates, windowSize, horizon);
        // Windows are cut from the series as a cursor reads them: the view holds the series, not every window.
        return new SeriesWindowRows(series, windowSize, horizon, windowColumn, covariates, labelColumn);
    }

    private static float[] Slice(double[] values, int start, int count)
    {
        var a = new float[count];
        for (var i = 0; i < count; i++)
        {
            a[i] = (float)values[start + i];
        }

        return a;
    }
}
