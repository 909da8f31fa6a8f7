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
    /// <param name="BadLength">Bool [N, 1]: true where the length is not a whole number from 1 to T (NaN included).</param>
    public sealed record Result(string X, string Mask, string Valid, string Count, string BadLength);

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
        return new Result(g.Op("Mul", [gathered, mask]), mask, valid, count, BadLength(g, length, steps));
    }

    /// <summary>
    /// Bool of <paramref name="length"/>'s shape: true where a length is not a whole number from 1 to T. The alignment
    /// truncates and clamps such a length, which scored a plausible answer for a row no model was trained on (found by
    /// QA: a loaded model and its exported graph took 3.7 as 3 and 0, -5 or NaN as no steps); the graphs answer NaN
    /// there instead (<see cref="NaNWhere"/>). A length is good exactly when floor(n) clipped to [1, T] is n itself
    /// (a NaN equals nothing; an infinity clips to T): four nodes after the cast, where separate range and whole-number
    /// tests took seven (the check added about 5 us to LmuFeaturize's 35 us row at T = 2000 in review). Compared in float32: exact for
    /// every whole number up to 2^24, so for every T a row of float32 steps can have in practice.
    /// </summary>
    public static string BadLength(OnnxGraphBuilder g, string length, int steps)
    {
        var l = g.Op("Cast", [length], OnnxAttribute.Int("to", (long)OnnxElementType.Float));
        var clipped = g.Op("Clip", [g.Op("Floor", [l]), g.Floats("one", [1f]), g.Floats("steps", [steps])]);
        return g.Op("Not", [g.Op("Equal", [clipped, l])]);
    }

    /// <summary>
    /// Bool [1, 1]: true where <paramref name="x"/> (any shape, one row) holds a NaN or an infinity (x * 0 sums to NaN
    /// exactly then, and to zero otherwise, whatever the order of the sum).
    /// </summary>
    public static string NotFinite(OnnxGraphBuilder g, string x) =>
        g.Op("IsNaN", [g.Op("ReduceSum", [g.Op("Mul", [x, g.Floats("zero", [0f], 1)])], OnnxAttribute.Int("keepdims", 1))]);

    /// <summary><paramref name="values"/> with NaN wherever <paramref name="bad"/> (broadcast) is true, bit for bit elsewhere.</summary>
    public static string NaNWhere(OnnxGraphBuilder g, string bad, string values) =>
        g.Op("Where", [bad, g.Floats("nan", [float.NaN], 1), values]);
}
