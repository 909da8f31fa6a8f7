namespace Lmu.MLNet.Forecasting;

/// <summary>
/// One forecast to score: the values that happened, the values forecast for them, and (for MASE) the in-sample history
/// the forecast was made from.
/// </summary>
/// <param name="Actual">Observed values, one per horizon step.</param>
/// <param name="Forecast">Forecast values, same length as <paramref name="Actual"/>.</param>
/// <param name="InSample">The series up to the forecast origin (oldest first); null when MASE is not wanted.</param>
public sealed record ForecastOutcome(double[] Actual, double[] Forecast, double[]? InSample = null);
