namespace Lmu.MLNet.Onnx;

/// <summary>A named constant tensor (graph initializer or tensor attribute), row-major.</summary>
internal sealed class OnnxTensor
{
    private OnnxTensor(string name, OnnxElementType type, long[] dims)
    {
        Name = name;
        ElementType = type;
        Dims = dims;
    }

    /// <summary>Tensor name (the value name other nodes refer to).</summary>
    public string Name { get; }

    /// <summary>Element type.</summary>
    public OnnxElementType ElementType { get; }

    /// <summary>Shape; empty for a scalar.</summary>
    public long[] Dims { get; }

    /// <summary>Float payload when <see cref="ElementType"/> is Float.</summary>
    public float[]? Floats { get; private init; }

    /// <summary>Int64 payload when <see cref="ElementType"/> is Int64.</summary>
    public long[]? Int64s { get; private init; }

    /// <summary>String payload when <see cref="ElementType"/> is String.</summary>
    public string[]? Strings { get; private init; }

    /// <summary>A float tensor; <paramref name="values"/> length must equal the product of <paramref name="dims"/>.</summary>
    public static OnnxTensor Float(string name, float[] values, params long[] dims)
    {
        CheckCount(values.Length, dims);
        return new OnnxTensor(name, OnnxElementType.Float, dims) { Floats = values };
    }

    /// <summary>An int64 tensor.</summary>
    public static OnnxTensor Int64(string name, long[] values, params long[] dims)
    {
        CheckCount(values.Length, dims);
        return new OnnxTensor(name, OnnxElementType.Int64, dims) { Int64s = values };
    }

    /// <summary>A string tensor.</summary>
    public static OnnxTensor String(string name, string[] values, params long[] dims)
    {
        CheckCount(values.Length, dims);
        return new OnnxTensor(name, OnnxElementType.String, dims) { Strings = values };
    }

    private static void CheckCount(int count, long[] dims)
    {
        long expected = 1;
        foreach (var d in dims)
        {
            expected *= d;
        }

        if (expected != count)
        {
            throw new ArgumentException($"Tensor has {count} values but its shape [{string.Join(",", dims)}] holds {expected}.");
        }
    }
}
