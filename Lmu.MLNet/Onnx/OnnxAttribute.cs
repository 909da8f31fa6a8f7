namespace Lmu.MLNet.Onnx;

/// <summary>A node attribute. Exactly one payload is set, matching <see cref="Kind"/>.</summary>
internal sealed class OnnxAttribute
{
    private OnnxAttribute(string name, OnnxAttributeKind kind)
    {
        Name = name;
        Kind = kind;
    }

    /// <summary>Attribute name as the operator defines it.</summary>
    public string Name { get; }

    /// <summary>Which payload is set.</summary>
    public OnnxAttributeKind Kind { get; }

    /// <summary>Scalar float payload.</summary>
    public float FloatValue { get; private init; }

    /// <summary>Scalar int payload.</summary>
    public long IntValue { get; private init; }

    /// <summary>Scalar string payload.</summary>
    public string? StringValue { get; private init; }

    /// <summary>Int list payload.</summary>
    public long[]? IntValues { get; private init; }

    /// <summary>Values of a Floats attribute.</summary>
    public float[]? FloatValues { get; private init; }

    /// <summary>String list payload.</summary>
    public string[]? StringValues { get; private init; }

    /// <summary>Tensor payload.</summary>
    public OnnxTensor? TensorValue { get; private init; }

    /// <summary>Subgraph payload (Scan / Loop / If bodies).</summary>
    public OnnxGraph? GraphValue { get; private init; }

    /// <summary>A float attribute.</summary>
    public static OnnxAttribute Float(string name, float value) => new(name, OnnxAttributeKind.Float) { FloatValue = value };

    /// <summary>An int attribute.</summary>
    public static OnnxAttribute Int(string name, long value) => new(name, OnnxAttributeKind.Int) { IntValue = value };

    /// <summary>A string attribute.</summary>
    public static OnnxAttribute String(string name, string value) => new(name, OnnxAttributeKind.String) { StringValue = value };

    /// <summary>A float-list attribute.</summary>
    public static OnnxAttribute Floats(string name, params float[] values) => new(name, OnnxAttributeKind.Floats) { FloatValues = values };

    /// <summary>An int-list attribute.</summary>
    public static OnnxAttribute Ints(string name, params long[] values) => new(name, OnnxAttributeKind.Ints) { IntValues = values };

    /// <summary>A string-list attribute.</summary>
    public static OnnxAttribute Strings(string name, params string[] values) =>
        new(name, OnnxAttributeKind.Strings) { StringValues = values };

    /// <summary>A tensor attribute.</summary>
    public static OnnxAttribute Tensor(string name, OnnxTensor value) => new(name, OnnxAttributeKind.Tensor) { TensorValue = value };

    /// <summary>A graph attribute.</summary>
    public static OnnxAttribute Graph(string name, OnnxGraph value) => new(name, OnnxAttributeKind.Graph) { GraphValue = value };
}
