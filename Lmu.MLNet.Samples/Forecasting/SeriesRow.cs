namespace Lmu.MLNet.Samples.Forecasting;

/// <summary>One observation of a stacked-series IDataView (series layout of ForecastByLmu).</summary>
internal sealed class SeriesRow
{
    public float Value { get; set; }

    public string SeriesId { get; set; } = string.Empty;

    public float DayOfWeek { get; set; }
}
