using Microsoft.ML;

namespace Microsoft.ML;

/// <summary><c>mlContext.Forecasting.ForecastByLmu(...)</c>.</summary>
/// <remarks>
/// The estimator is bound to the catalog's MLContext: its seed, Log, GpuDeviceId/FallbackToCpu and cancellation govern
/// training. (ML.NET does not expose a catalog's context publicly; see MLContextBridge for how it is reached, and use
/// <c>new LmuForecastEstimator(mlContext, options)</c> for the same estimator without the catalog.)
/// </remarks>
public static class LmuForecastingCatalogExtensions
{
    /// <summary>
    /// LMU forecaster trained on one series (rows in time order, as ForecastBySsa expects), forecasting the next
    /// <paramref name="horizon"/> values from the last <paramref name="windowSize"/>; all other settings default
    /// (see <see cref="LmuForecastingOptions"/>).
    /// </summary>
    /// <param name="catalog">The forecasting catalog.</param>
    /// <param name="outputColumnName">Forecast column, Vector&lt;Single, horizon&gt;.</param>
    /// <param name="inputColumnName">Series column (Single), rows in time order. Null fits on the window layout instead: a "Window" column of the last windowSize values and a "Label" column of the next horizon values (see <see cref="LmuForecastingOptions"/>).</param>
    /// <param name="windowSize">Input window length T; the fitted model scores a Vector&lt;Single, T&gt; column named "Window".</param>
    /// <param name="horizon">Values forecast at once.</param>
    /// <param name="confidenceLevel">Coverage of the bound columns. Default 0.95.</param>
    /// <param name="confidenceLowerBoundColumn">Lower bound column, or null for none. Default null.</param>
    /// <param name="confidenceUpperBoundColumn">Upper bound column, or null for none. Default null.</param>
    public static LmuForecastEstimator ForecastByLmu(
        this ForecastingCatalog catalog, string outputColumnName, string inputColumnName, int windowSize, int horizon,
        double confidenceLevel = 0.95, string? confidenceLowerBoundColumn = null, string? confidenceUpperBoundColumn = null) =>
        catalog.ForecastByLmu(new LmuForecastingOptions
        {
            OutputColumnName = outputColumnName,
            SeriesColumnName = inputColumnName,
            WindowSize = windowSize,
            Horizon = horizon,
            ConfidenceLevel = confidenceLevel,
            LowerBoundColumnName = confidenceLowerBoundColumn,
            UpperBoundColumnName = confidenceUpperBoundColumn,
        });

    /// <summary>LMU forecaster with every option (see <see cref="LmuForecastingOptions"/>).</summary>
    /// <param name="catalog">The forecasting catalog.</param>
    /// <param name="options">The options; validated and copied.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/>, or a list or nested options object in it, is null.</exception>
    /// <exception cref="ArgumentException">An option is out of its range or conflicts with another; the message names it and its value.</exception>
    public static LmuForecastEstimator ForecastByLmu(this ForecastingCatalog catalog, LmuForecastingOptions options) =>
        new(MLContextBridge.FromCatalog(catalog, "LmuForecaster", nameof(LmuForecastEstimator)), options);
}
