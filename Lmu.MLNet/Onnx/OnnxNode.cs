namespace Lmu.MLNet.Onnx;

/// <summary>One operator application in a graph.</summary>
/// <param name="OpType">Operator name, e.g. "MatMul".</param>
/// <param name="Name">Unique node name.</param>
/// <param name="Inputs">Input value names (an empty string marks an omitted optional input).</param>
/// <param name="Outputs">Output value names.</param>
/// <param name="Attributes">Attributes.</param>
/// <param name="Domain">Operator domain: empty for the default ONNX domain, "ai.onnx.ml" for the ML operators.</param>
internal sealed record OnnxNode(
    string OpType,
    string Name,
    IReadOnlyList<string> Inputs,
    IReadOnlyList<string> Outputs,
    IReadOnlyList<OnnxAttribute> Attributes,
    string Domain = "");
