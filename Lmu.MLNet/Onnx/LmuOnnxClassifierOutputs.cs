namespace Lmu.MLNet.Onnx;

/// <summary>Classifier outputs to add on top of the raw logits.</summary>
internal sealed class LmuOnnxClassifierOutputs
{
    /// <summary>Class names in output (key) order; their count must equal the network's output width.</summary>
    public required IReadOnlyList<string> ClassNames { get; init; }

    /// <summary>Name of the softmax output [N, K]; it carries the class names as ML.NET SlotNames.</summary>
    public string ScoreName { get; init; } = "Score";

    /// <summary>Name of the 0-based arg-max output, int64 [N, 1] (-1 for a row whose scores are NaN); null to omit.</summary>
    public string? PredictedIndexName { get; init; }

    /// <summary>Name of the predicted class-name output, string [N, 1] (empty for a row whose scores are NaN); null to omit.</summary>
    public string? PredictedClassName { get; init; }
}
