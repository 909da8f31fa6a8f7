namespace Lmu.MLNet.Onnx;

/// <summary>
/// Right-aligns a batch of rows whose valid steps come first: step s of the result reads input step s - (T - n), so a
/// row's n valid steps end at step T-1, and the T - n steps before them are zero. Every LMU form is causal and starts
/// from a zero state, so a graph that also keeps its state unchanged (or its input zero) on the leading padded steps
/// computes, at step T-1, exactly what the row's own n steps give. Shared by the featurizer and the network exporter.
/// </summary>
internal static class LmuOnnxRightAlign
{
    /// <summary>The aligned rows and what else the caller needs about the valid steps.</summary>
    /// <param name="X">Aligned input [N, T, C], zero on padded steps.</param>
    /// <param name="Mask">Float [N, T, 1]: 1 on valid steps, 0 on padded ones.</param>
    /// <param name="Valid">Bool [N, T, 1]: the same mask as booleans (for Where).</param>
    /// <param name="Count">Float [N, 1]: n after clamping.</param>
    public sealed record Result(string X, string Mask, string Valid, string Count);

    /// <summary>Builds the alignment.</summary>
    /// <param name="g">Graph.</param>
    /// <param name="x3">Rows [N, T, C].</param>
    /// <param name="length">Lengths [N, 1] of any numeric type; cast to int64 (a float is truncated) and clamped to [0, T].</param>
    /// <param name="steps">T.</param>
    public static Result Build(OnnxGraphBuilder g, string x3, string length, int steps)
    {
        var n = g.Op("Cast", [length], OnnxAttribute.Int("to", (long)OnnxElementType.Int64));
        n = g.Op("Min", [g.Op("Max", [n, g.Int64s("zero", 0)]), g.Int64s("steps", steps)]);
        var range = g.Int64s("range", Enumerable.Range(0, steps).Select(i => (long)i).ToArray());
        var source = g.Op("Add", [range, g.Op("Sub", [n, g.Int64s("steps", steps)])]);          // [N, T]
        var valid = g.Op("GreaterOrEqual", [source, g.Int64s("zero", 0)]);
        valid = g.Op("Unsqueeze", [valid, g.Int64s("axes", 2)]);                                // [N, T, 1]
        var mask = g.Op("Cast", [valid], OnnxAttribute.Int("to", (long)OnnxElementType.Float));
        var index = g.Op("Unsqueeze", [g.Op("Max", [source, g.Int64s("zero", 0)]), g.Int64s("axes", 2)]);
        // GatherElements needs the index at the data's full shape: broadcast [N, T, 1] over the channels.
        index = g.Op("Expand", [index, g.Op("Shape", [x3])]);
        var gathered = g.Op("GatherElements", [x3, index], OnnxAttribute.Int("axis", 1));
        var count = g.Op("Cast", [n], OnnxAttribute.Int("to", (long)OnnxElementType.Float));
        return new Result(g.Op("Mul", [gathered, mask]), mask, valid, count);
    }
}
