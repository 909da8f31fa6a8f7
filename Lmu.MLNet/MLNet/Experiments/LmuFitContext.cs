namespace Lmu.MLNet.Experiments;

/// <summary>What every fit of one experiment shares.</summary>
/// <param name="Settings">The experiment's settings.</param>
/// <param name="FeaturesColumn">The user's features column (the model reads it).</param>
/// <param name="LabelColumn">Key label column of the in-memory views the pooled family is fitted on.</param>
/// <param name="PooledColumn">The pooled features column inside the pooled family's chain (dropped from its output).</param>
/// <param name="ChannelMajor">The user's features column is channel-major with several channels: the models read it so,
/// and the in-memory views the pooled family is fitted on are written so.</param>
/// <param name="Device">The torch device the networks train on (<see cref="LmuExperimentSettings.Device"/> resolved against the MLContext).</param>
/// <param name="TempFolder">The MLContext's TempFilePath, where the pooled family's carriers write their graph copies (null: the system temp folder).</param>
internal sealed record LmuFitContext(LmuExperimentSettings Settings, string FeaturesColumn, string LabelColumn, string PooledColumn, bool ChannelMajor = false, string Device = "cpu", string? TempFolder = null);
