namespace Lmu.MLNet.Onnx;

/// <summary>
/// Names the slots of a vector output for ML.NET: its OnnxTransformer gives output column X a SlotNames annotation
/// when the graph has an ai.onnx.ml LabelEncoder node named "mlnet.X.SlotNames" whose keys_strings are the names.
/// The node must reach a graph output (here "mlnet.X.unusedOutput") or it would be pruned; its input is a [1, 1] string
/// initializer. ONNX Runtime computes that output only when asked for it, and ML.NET never asks.
/// </summary>
internal static class LmuOnnxSlotNames
{
    /// <summary>
    /// Widest output that gets names. ONNX Runtime builds the LabelEncoder's table in every session, about 0.7 KB per
    /// name (regression QA: 2,000,000 pooled features took a Fit from 1.5 to 3.6 GB and 4.7 to 13.2 s, a load from 0.5
    /// to 3.7 s); 32,768 names cost about 23 MB per session, and feature importance over more slots than that (one
    /// evaluation per slot) is out of reach anyway. Wider outputs stay unnamed, as ML.NET's own vectors are.
    /// </summary>
    public const int MaxSlots = 32_768;

    /// <summary>Whether an output of <paramref name="slots"/> slots gets names.</summary>
    public static bool Named(long slots) => slots <= MaxSlots;

    /// <summary>Adds the names of <paramref name="column"/>'s slots, in slot order.</summary>
    public static void Add(OnnxGraphBuilder g, string column, IReadOnlyList<string> names)
    {
        var nodeName = $"mlnet.{column}.SlotNames";
        var unused = $"mlnet.{column}.unusedOutput";
        g.Initializer(OnnxTensor.String(nodeName, [names[0]], 1, 1));
        g.Graph.Nodes.Add(new OnnxNode(
            "LabelEncoder",
            nodeName,
            [nodeName],
            [unused],
            [
                OnnxAttribute.Strings("keys_strings", names.ToArray()),
                OnnxAttribute.Ints("values_int64s", Enumerable.Range(0, names.Count).Select(i => (long)i).ToArray()),
                OnnxAttribute.Int("default_int64", -1),
            ],
            OnnxModelWriter.MlDomain));
        g.Output(unused, OnnxElementType.Int64, 1, 1);
    }

    /// <summary>
    /// <paramref name="names"/> with each repeat of an earlier name suffixed "#2", "#3"... (options may list a window
    /// position or a delay twice, and ML.NET's feature-importance dictionaries are keyed by slot name).
    /// </summary>
    public static string[] Unique(IEnumerable<string> names)
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        return names.Select(n =>
        {
            var k = seen[n] = seen.GetValueOrDefault(n) + 1;
            return k == 1 ? n : $"{n}#{k}";
        }).ToArray();
    }
}
