namespace Lmu.MLNet.Onnx;

/// <summary>
/// Names the slots of a vector output for ML.NET: its OnnxTransformer gives output column X a SlotNames annotation
/// when the graph has an ai.onnx.ml LabelEncoder node named "mlnet.X.SlotNames" whose keys_strings are the names.
/// The node must reach a graph output (here "mlnet.X.unusedOutput") or it would be pruned; its input is a [1, 1] string
/// initializer. ONNX Runtime computes that output only when asked for it, and ML.NET never asks.
/// </summary>
internal static class LmuOnnxSlotNames
{
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
