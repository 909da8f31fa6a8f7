namespace Lmu.MLNet.Forecasting;

/// <summary>One forecast of the next <c>Horizon</c> values from the streaming engine.</summary>
/// <param name="Forecast">Forecast values, step 1 first.</param>
/// <param name="LowerBound">Lower bounds at the model's confidence level, or null when the model has none.</param>
/// <param name="UpperBound">Upper bounds at the model's confidence level, or null when the model has none.</param>
public sealed record LmuForecast(float[] Forecast, float[]? LowerBound, float[]? UpperBound);
