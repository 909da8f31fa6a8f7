namespace Lmu.MLNet.Onnx;

/// <summary>The ONNX tensor element types this writer emits (values are onnx.proto's TensorProto.DataType).</summary>
internal enum OnnxElementType
{
    /// <summary>32-bit IEEE float.</summary>
    Float = 1,

    /// <summary>Signed 32-bit integer (graph inputs only, e.g. a length column).</summary>
    Int32 = 6,

    /// <summary>Signed 64-bit integer (shapes, indices).</summary>
    Int64 = 7,

    /// <summary>UTF-8 string.</summary>
    String = 8,

    /// <summary>Boolean (graph values and Scan inputs only; never an initializer).</summary>
    Bool = 9,

    /// <summary>Unsigned 32-bit integer (graph inputs only, e.g. a length column).</summary>
    UInt32 = 12,
}
