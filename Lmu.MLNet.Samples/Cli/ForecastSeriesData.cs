namespace Lmu.MLNet.Samples.Cli;

/// <summary>One series read by <see cref="ForecastFile"/>: its id, values and covariates in time order, and the file line of each value.</summary>
/// <param name="Id">The series id ("" for a file holding one series).</param>
/// <param name="Values">The values, oldest first.</param>
/// <param name="Covariates">Per covariate, its values aligned with <paramref name="Values"/>.</param>
/// <param name="Lines">The file line of each value (for error messages).</param>
/// <param name="Times">The time of each value when a time column was given (for the seasonality guess), else null.</param>
/// <param name="Dates">True when the times were dates (then in days).</param>
internal sealed record ForecastSeriesData(string Id, double[] Values, double[][] Covariates, int[] Lines, double[]? Times, bool Dates = false)
{
    /// <summary>How an error names the series: "series 'V1' (lines 2-701)" or "the series (lines 2-145)".</summary>
    public string Describe(string path) =>
        $"'{path}' {(Lines.Length > 0 ? $"line {Lines.Min()}" : string.Empty)}: {(Id.Length == 0 ? "the series" : $"series '{Id}'")}";
}
