namespace Lmu.MLNet.Forecasting;

/// <summary>One series read from the training data: target values and covariates, oldest first.</summary>
/// <param name="Id">The series id (from the id column, or "0" for a single series, or the row number in the window layout).</param>
/// <param name="Target">Target values.</param>
/// <param name="Covariates">One array per covariate, each as long as <paramref name="Target"/>.</param>
internal sealed record ForecastSeries(string Id, double[] Target, double[][] Covariates)
{
    /// <summary>Windows of length <paramref name="window"/> followed by <paramref name="horizon"/> values.</summary>
    public int WindowCount(int window, int horizon) => Math.Max(0, Target.Length - window - horizon + 1);
}
