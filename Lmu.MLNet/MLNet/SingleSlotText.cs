using Microsoft.ML.Data;

namespace Lmu.MLNet;

/// <summary>Input row of <see cref="SingleSlotTextMappingFactory"/>: the ONNX predicted-class output, a 1-slot text vector.</summary>
internal sealed class SingleSlotText
{
    /// <summary>The single slot.</summary>
    [ColumnName(OnnxCarrier.PredictedClassColumn)]
    [VectorType(1)]
    public string[] Value { get; set; } = [];
}
