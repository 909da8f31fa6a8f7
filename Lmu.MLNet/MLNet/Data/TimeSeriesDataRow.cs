namespace Lmu.MLNet.Data;

/// <summary>Row type of <see cref="TimeSeriesDataset.ToDataView"/> (and usable for prediction engines with a schema definition).</summary>
public sealed class TimeSeriesDataRow
{
    /// <summary>Class label.</summary>
    public string Label { get; set; } = string.Empty;

    /// <summary>Padded series, time-major.</summary>
    public float[] Features { get; set; } = [];

    /// <summary>Number of real steps.</summary>
    public float Length { get; set; }
}
