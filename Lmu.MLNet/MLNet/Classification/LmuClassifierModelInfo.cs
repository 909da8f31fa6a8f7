namespace Lmu.MLNet.Classification;

/// <summary>Facts about a trained LMU classifier (plain data; kept in memory only, not in the model zip): its columns and shape, and the training facts every LMU model reports.</summary>
public sealed class LmuClassifierModelInfo : LmuTrainedModelInfo
{
    /// <summary>Class names in Score slot order.</summary>
    public required IReadOnlyList<string> ClassNames { get; init; }

    /// <summary>Features column the model reads.</summary>
    public required string FeatureColumnName { get; init; }

    /// <summary>Sequence-length column it reads (scoring needs it too), or null when rows are full length. Default null.</summary>
    public string? LengthColumnName { get; init; }

    /// <summary>The length column's type at training (scoring must match it: it is the ONNX input's type).</summary>
    internal Microsoft.ML.Data.DataViewType? LengthType { get; init; }

    /// <summary>Label column it was trained on.</summary>
    public required string LabelColumnName { get; init; }

    /// <summary>Steps per sequence T.</summary>
    public required int SequenceLength { get; init; }

    /// <summary>Channels per step C.</summary>
    public required int Channels { get; init; }

    /// <summary>How the features vector holds the channels (what the model reads at scoring time too).</summary>
    public LmuInputLayout InputLayout { get; init; } = LmuInputLayout.StepMajor;
}
