namespace Lmu.MLNet.Onnx;

/// <summary>
/// Builds an <see cref="OnnxGraph"/> with generated unique value names. Names share one counter across a model
/// (pass the same prefix source to subgraph builders) because a Scan body may read outer-scope values, so names
/// must not collide between scopes.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    private readonly Func<string, string> _unique;

    /// <summary>Creates a builder for a main graph.</summary>
    public OnnxGraphBuilder(string name)
        : this(name, MakeCounter())
    {
    }

    private OnnxGraphBuilder(string name, Func<string, string> unique)
    {
        _unique = unique;
        Graph = new OnnxGraph { Name = name };
    }

    /// <summary>The graph being built.</summary>
    public OnnxGraph Graph { get; }

    /// <summary>A builder for a subgraph (e.g. a Scan body) sharing this builder's name space.</summary>
    public OnnxGraphBuilder Subgraph(string name) => new(name, _unique);

    /// <summary>A fresh value name starting with <paramref name="hint"/>.</summary>
    public string Fresh(string hint) => _unique(hint);

    /// <summary>Adds a float initializer and returns its name.</summary>
    public string Floats(string hint, float[] values, params long[] dims)
    {
        var t = OnnxTensor.Float(Fresh(hint), values, dims);
        Graph.Initializers.Add(t);
        return t.Name;
    }

    /// <summary>Adds an int64 initializer and returns its name.</summary>
    public string Int64s(string hint, params long[] values)
    {
        var t = OnnxTensor.Int64(Fresh(hint), values, values.Length);
        Graph.Initializers.Add(t);
        return t.Name;
    }

    /// <summary>Adds an initializer under an exact name (callers guarantee uniqueness).</summary>
    public string Initializer(OnnxTensor tensor)
    {
        Graph.Initializers.Add(tensor);
        return tensor.Name;
    }

    /// <summary>Adds a single-output node and returns the output name.</summary>
    public string Op(string opType, IReadOnlyList<string> inputs, params OnnxAttribute[] attributes) =>
        OpMulti(opType, inputs, 1, attributes)[0];

    /// <summary>Adds a node with <paramref name="outputCount"/> outputs and returns their names.</summary>
    public string[] OpMulti(string opType, IReadOnlyList<string> inputs, int outputCount, params OnnxAttribute[] attributes)
    {
        var outputs = new string[outputCount];
        for (var i = 0; i < outputCount; i++)
        {
            outputs[i] = Fresh(opType);
        }

        Add(opType, inputs, outputs, attributes);
        return outputs;
    }

    /// <summary>Adds a node with named outputs (graph outputs, Scan body outputs).</summary>
    public void Add(string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, IReadOnlyList<OnnxAttribute> attributes, string domain = "") =>
        Graph.Nodes.Add(new OnnxNode(opType, Fresh("n_" + opType), inputs, outputs, attributes, domain));

    /// <summary>Declares a float graph input.</summary>
    public void Input(string name, OnnxElementType type, params object[] shape) => Graph.Inputs.Add(new OnnxValueInfo(name, type, shape));

    /// <summary>Declares a graph output.</summary>
    public void Output(string name, OnnxElementType type, params object[] shape) => Graph.Outputs.Add(new OnnxValueInfo(name, type, shape));

    private static Func<string, string> MakeCounter()
    {
        var next = 0;
        return hint => $"{hint}_{next++}";
    }
}
