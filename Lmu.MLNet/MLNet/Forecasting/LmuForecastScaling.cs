namespace Lmu.MLNet.Forecasting;

/// <summary>How the target series is normalised before the LMU sees it (the inverse is applied to the forecast).</summary>
public enum LmuForecastScaling
{
    /// <summary>
    /// One mean and standard deviation measured on the training series, stored in the model. Best for one stationary
    /// series (Mackey-Glass).
    /// </summary>
    Global,

    /// <summary>
    /// Each window is normalised by its own mean and standard deviation (floored at 1e-3 x max(|mean|, 1)), so one
    /// model serves series of any level and follows level shifts (many series, trending data).
    /// </summary>
    PerWindow,
}
