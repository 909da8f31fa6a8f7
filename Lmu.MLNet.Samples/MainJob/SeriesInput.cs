namespace Lmu.MLNet.Samples.MainJob;

/// <summary>
/// The main job's prediction-engine input, written the way an ML.NET user writes theirs: settable properties named like
/// the model's input columns (Features, padded time-major values; Length, the real steps as a Single) plus the label
/// for display. The width of Features is set at run time through a SchemaDefinition, since it depends on the data set.
/// </summary>
internal sealed class SeriesInput
{
    public string Label { get; set; } = string.Empty;

    public float[] Features { get; set; } = [];

    public float Length { get; set; }
}
