namespace Lmu.MLNet.Onnx;

/// <summary>Attribute payload kinds this writer emits (values are onnx.proto's AttributeProto.AttributeType).</summary>
internal enum OnnxAttributeKind
{
    /// <summary>One float.</summary>
    Float = 1,

    /// <summary>One int64.</summary>
    Int = 2,

    /// <summary>One string.</summary>
    String = 3,

    /// <summary>One tensor.</summary>
    Tensor = 4,

    /// <summary>One graph.</summary>
    Graph = 5,

    /// <summary>A list of floats (AttributeProto.FLOATS).</summary>
    Floats = 6,

    /// <summary>A list of int64.</summary>
    Ints = 7,

    /// <summary>A list of strings.</summary>
    Strings = 8,
}
