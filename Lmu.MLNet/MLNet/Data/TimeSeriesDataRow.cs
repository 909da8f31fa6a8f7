namespace Lmu.MLNet.Data;

/// <summary>Row type of <see cref="TimeSeriesDataset.ToDataView"/> (and usable for prediction engines with a schema definition).</summary>
/// <remarks>
/// The ML.NET view of a series, beside <see cref="TimeSeriesRow"/>, the loaded one. This row is already shaped for a
/// pipeline: <see cref="Features"/> is padded to the fixed width of the view's vector column (steps x channels, zeros
/// outside the real steps), <see cref="Length"/> is a Single because that is the column type LmuFeaturize and the
/// classifier read as their length column, and the settable properties with column names (Label, Features, Length) are
/// what LoadFromEnumerable and CreatePredictionEngine bind by reflection. A <see cref="TimeSeriesRow"/> cannot be that row
/// without losing what it is: its values are the real steps only, of whatever length the file gave, before any choice of
/// padding width or alignment.
/// </remarks>
public sealed class TimeSeriesDataRow
{
    /// <summary>Class label.</summary>
    public string Label { get; set; } = string.Empty;

    /// <summary>Padded series, time-major.</summary>
    public float[] Features { get; set; } = [];

    /// <summary>Number of real steps.</summary>
    public float Length { get; set; }
}
