namespace Lmu.MLNet.Data;

/// <summary>The row type behind <see cref="TimeSeriesDataset.ToDataView"/>: what LoadFromEnumerable binds by reflection.</summary>
/// <remarks>
/// Internal on purpose: a series has one public shape, <see cref="TimeSeriesRow"/> (as loaded, unpadded). This row is only
/// the padded ML.NET view of it (Features padded to the view's width, Length a Single because that is the length column
/// type the featurizers and the classifier read). Applications that score with a prediction engine declare their own input
/// class with those column names, as ML.NET applications always do.
/// </remarks>
internal sealed class TimeSeriesDataRow
{
    /// <summary>Class label.</summary>
    public string Label { get; set; } = string.Empty;

    /// <summary>Padded series, time-major.</summary>
    public float[] Features { get; set; } = [];

    /// <summary>Number of real steps.</summary>
    public float Length { get; set; }
}
