using Google.Protobuf;

namespace Lmu.MLNet.Tests.Onnx;

/// <summary>
/// The op types of an ONNX model's main-graph nodes, read from the serialised ModelProto with the protobuf wire format
/// (ModelProto.graph = 7, GraphProto.node = 1, NodeProto.op_type = 4), so tests can tell which form a graph holds.
/// </summary>
internal static class OnnxOpTypes
{
    public static List<string> Of(byte[] model)
    {
        var graph = Field(model, 7).Single();
        return Field(graph, 1).Select(node => System.Text.Encoding.UTF8.GetString(Field(node, 4).Single())).ToList();
    }

    /// <summary>
    /// The op types of the nodes of every subgraph the main graph's nodes hold (a Scan's body: NodeProto.attribute = 5,
    /// AttributeProto.g = 6), one level deep.
    /// </summary>
    public static List<string> InBodies(byte[] model)
    {
        var graph = Field(model, 7).Single();
        return Field(graph, 1)
            .SelectMany(node => Field(node, 5))
            .SelectMany(attribute => Field(attribute, 6))
            .SelectMany(body => Field(body, 1).Select(n => System.Text.Encoding.UTF8.GetString(Field(n, 4).Single())))
            .ToList();
    }

    // Every length-delimited occurrence of field <number> in a message.
    private static List<byte[]> Field(byte[] message, int number)
    {
        var found = new List<byte[]>();
        var input = new CodedInputStream(message);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == number && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                found.Add(input.ReadBytes().ToByteArray());
            }
            else
            {
                input.SkipLastField();
            }
        }

        return found;
    }
}
