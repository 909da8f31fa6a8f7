namespace Lmu.MLNet.Onnx;

/// <summary>A graph: the model's main graph or a subgraph attribute (e.g. a Scan body).</summary>
internal sealed class OnnxGraph
{
    /// <summary>Graph name.</summary>
    public required string Name { get; init; }

    /// <summary>Nodes in topological order.</summary>
    public List<OnnxNode> Nodes { get; } = [];

    /// <summary>Constant tensors.</summary>
    public List<OnnxTensor> Initializers { get; } = [];

    /// <summary>Graph inputs (for a Scan body: states, then scan slices).</summary>
    public List<OnnxValueInfo> Inputs { get; } = [];

    /// <summary>Graph outputs (for a Scan body: new states, then per-step outputs).</summary>
    public List<OnnxValueInfo> Outputs { get; } = [];
}
