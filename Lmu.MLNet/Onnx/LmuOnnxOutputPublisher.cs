namespace Lmu.MLNet.Onnx;

/// <summary>
/// Publishes internal values (always batched, [N, ...]) as named graph outputs, with or without the batch axis.
/// </summary>
internal sealed class LmuOnnxOutputPublisher
{
    private readonly OnnxGraphBuilder _g;
    private readonly bool _batchAxis;

    /// <summary>Creates a publisher for <paramref name="g"/>.</summary>
    public LmuOnnxOutputPublisher(OnnxGraphBuilder g, bool batchAxis)
    {
        _g = g;
        _batchAxis = batchAxis;
    }

    /// <summary>Publishes a float [N, width] value; a null name publishes nothing.</summary>
    public void Float(string? name, string value, int width) => Value(name, value, OnnxElementType.Float, width);

    /// <summary>Publishes a [N, dims...] value of any element type under its exact name.</summary>
    public void Value(string? name, string value, OnnxElementType type, params long[] dims)
    {
        if (name is null)
        {
            return;
        }

        if (_batchAxis)
        {
            // Identity gives the output its exact name, whatever produced the value.
            _g.Add("Identity", [value], [name], []);
            _g.Output(name, type, ["N", .. dims.Cast<object>()]);
        }
        else
        {
            // Reshape to the row's own shape drops the batch axis of 1.
            _g.Add("Reshape", [value, _g.Int64s("shape", dims)], [name], []);
            _g.Output(name, type, dims.Cast<object>().ToArray());
        }
    }

    /// <summary>Publishes a per-step float sequence [N, steps, width]; throws when the layer did not produce it.</summary>
    public void Sequence(string? name, string? value, string what, int steps, int width)
    {
        if (name is null)
        {
            return;
        }

        if (value is null)
        {
            throw new ArgumentException($"The {what} sequence is not available for this layer.");
        }

        Value(name, value, OnnxElementType.Float, steps, width);
    }
}
