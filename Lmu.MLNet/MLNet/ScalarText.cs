using Microsoft.ML.Data;

namespace Lmu.MLNet;

/// <summary>Output row of <see cref="SingleSlotTextMappingFactory"/>: the predicted class as scalar text.</summary>
internal sealed class ScalarText
{
    /// <summary>The predicted class value.</summary>
    [ColumnName(OnnxCarrier.PredictedValueColumn)]
    public string Value { get; set; } = string.Empty;
}
