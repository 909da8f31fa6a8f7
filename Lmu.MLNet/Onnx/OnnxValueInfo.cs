namespace Lmu.MLNet.Onnx;

/// <summary>A typed graph input or output.</summary>
/// <param name="Name">Value name (for ML.NET, the column name).</param>
/// <param name="ElementType">Tensor element type.</param>
/// <param name="Shape">Dimensions: a <see cref="long"/> is a fixed size, a <see cref="string"/> a symbolic one (e.g. "N").</param>
internal sealed record OnnxValueInfo(string Name, OnnxElementType ElementType, IReadOnlyList<object> Shape);
