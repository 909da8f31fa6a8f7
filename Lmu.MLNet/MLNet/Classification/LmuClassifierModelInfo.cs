using Lmu.MLNet.Training;

namespace Lmu.MLNet.Classification;

/// <summary>Facts about a trained LMU classifier (plain data; kept in memory only, not in the model zip).</summary>
public sealed class LmuClassifierModelInfo
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

    /// <summary>Trainable parameters.</summary>
    public required long ParameterCount { get; init; }

    /// <summary>Seed used (options or the MLContext's stream).</summary>
    public required int Seed { get; init; }

    /// <summary>Torch device it was trained on.</summary>
    public required string Device { get; init; }

    /// <summary>Training rows (with a label) seen in the pre-training scan of the data given to Fit.</summary>
    public required long TrainingRows { get; init; }

    /// <summary>One report per epoch.</summary>
    public required IReadOnlyList<LmuEpochReport> History { get; init; }

    /// <summary>1-based epoch whose weights the model holds.</summary>
    public required int BestEpoch { get; init; }

    /// <summary>Wall time of Fit (scan, training, export).</summary>
    public required TimeSpan FitTime { get; init; }
}
