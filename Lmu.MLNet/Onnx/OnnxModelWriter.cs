using System.Buffers.Binary;
using Google.Protobuf;

namespace Lmu.MLNet.Onnx;

/// <summary>
/// Serialises an <see cref="OnnxGraph"/> as an ONNX ModelProto, encoding the protobuf wire format directly with
/// <see cref="CodedOutputStream"/>. Only the onnx.proto fields this project needs are written; field numbers are
/// onnx.proto's.
/// </summary>
internal static class OnnxModelWriter
{
    /// <summary>IR version 8 is the one that accompanies opset 17.</summary>
    public const long IrVersion = 8;

    /// <summary>Default-domain opset.</summary>
    public const long DefaultOpset = 17;

    /// <summary>The ai.onnx.ml opset that accompanies opset 17 (LabelEncoder-2 is current there).</summary>
    public const long MlOpset = 3;

    /// <summary>The ONNX-ML operator domain.</summary>
    public const string MlDomain = "ai.onnx.ml";

    /// <summary>
    /// The most bytes of initializers a model may hold: protobuf's 2 GiB limit on a message (and .NET's on an array)
    /// less 1 MiB for the nodes and names. Past it a model cannot be written or read.
    /// </summary>
    public const long MaxInitializerBytes = int.MaxValue - (1L << 20);

    /// <summary>
    /// The ONNX model's producer_version: the library's informational version (the package version, and the commit where
    /// the build records it), so a graph in a zip says which version of Lmu.MLNet wrote it.
    /// </summary>
    public static string ProducerVersion { get; } =
        typeof(OnnxModelWriter).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "unknown";

    /// <summary>Encodes a complete model, sealed with its SHA-256 (<see cref="OnnxIntegrity"/>) so a loader can tell a damaged graph from the one written.</summary>
    /// <param name="graph">The main graph.</param>
    /// <param name="producerName">Written as producer_name, for provenance.</param>
    /// <param name="maxInitializerBytes">The size bound checked before encoding (tests lower it; default <see cref="MaxInitializerBytes"/>).</param>
    /// <exception cref="OverflowException">The initializers, subgraphs' included, hold more than <paramref name="maxInitializerBytes"/>.</exception>
    public static byte[] Write(OnnxGraph graph, string producerName = "Lmu.MLNet", long maxInitializerBytes = MaxInitializerBytes)
    {
        // Checked before anything is encoded: encoding a graph near the limit copies it about five times, and the
        // MemoryStream then failed with "Array dimensions exceeded supported range", an OutOfMemoryException that said
        // nothing of the model's size (found by QA, after 35 s and 6.3 GB).
        var bytes = InitializerBytes(graph);
        if (bytes > maxInitializerBytes)
        {
            throw new OverflowException(
                $"The ONNX graph's weights and tables take {bytes:N0} bytes, more than an ONNX model holds ({maxInitializerBytes:N0} bytes, about 2 GiB).");
        }

        return OnnxIntegrity.Seal(Encode(o =>
        {
            o.WriteTag(1, WireFormat.WireType.Varint);
            o.WriteInt64(IrVersion);
            o.WriteTag(2, WireFormat.WireType.LengthDelimited);
            o.WriteString(producerName);
            // Which version of the library wrote the graph: nothing in a model zip said so (upgrade QA).
            o.WriteTag(3, WireFormat.WireType.LengthDelimited);
            o.WriteString(ProducerVersion);
            o.WriteTag(7, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(ByteString.CopyFrom(EncodeGraph(graph)));
            WriteOpset(o, "", DefaultOpset);
            WriteOpset(o, MlDomain, MlOpset);
        }));
    }

    private static void WriteOpset(CodedOutputStream o, string domain, long version)
    {
        var bytes = Encode(s =>
        {
            s.WriteTag(1, WireFormat.WireType.LengthDelimited);
            s.WriteString(domain);
            s.WriteTag(2, WireFormat.WireType.Varint);
            s.WriteInt64(version);
        });
        WriteMessage(o, 8, bytes);
    }

    private static byte[] EncodeGraph(OnnxGraph g) => Encode(o =>
    {
        foreach (var n in g.Nodes)
        {
            WriteMessage(o, 1, EncodeNode(n));
        }

        WriteString(o, 2, g.Name);
        foreach (var t in g.Initializers)
        {
            WriteMessage(o, 5, EncodeTensor(t));
        }

        foreach (var v in g.Inputs)
        {
            WriteMessage(o, 11, EncodeValueInfo(v));
        }

        foreach (var v in g.Outputs)
        {
            WriteMessage(o, 12, EncodeValueInfo(v));
        }
    });

    private static byte[] EncodeNode(OnnxNode n) => Encode(o =>
    {
        foreach (var i in n.Inputs)
        {
            WriteString(o, 1, i);
        }

        foreach (var i in n.Outputs)
        {
            WriteString(o, 2, i);
        }

        WriteString(o, 3, n.Name);
        WriteString(o, 4, n.OpType);
        foreach (var a in n.Attributes)
        {
            WriteMessage(o, 5, EncodeAttribute(a));
        }

        if (n.Domain.Length > 0)
        {
            WriteString(o, 7, n.Domain);
        }
    });

    private static byte[] EncodeAttribute(OnnxAttribute a) => Encode(o =>
    {
        WriteString(o, 1, a.Name);
        switch (a.Kind)
        {
            case OnnxAttributeKind.Float:
                o.WriteTag(2, WireFormat.WireType.Fixed32);
                o.WriteFloat(a.FloatValue);
                break;
            case OnnxAttributeKind.Int:
                o.WriteTag(3, WireFormat.WireType.Varint);
                o.WriteInt64(a.IntValue);
                break;
            case OnnxAttributeKind.String:
                WriteString(o, 4, a.StringValue!);
                break;
            case OnnxAttributeKind.Tensor:
                WriteMessage(o, 5, EncodeTensor(a.TensorValue!));
                break;
            case OnnxAttributeKind.Graph:
                WriteMessage(o, 6, EncodeGraph(a.GraphValue!));
                break;
            case OnnxAttributeKind.Floats:
                foreach (var v in a.FloatValues!)
                {
                    o.WriteTag(7, WireFormat.WireType.Fixed32);
                    o.WriteFloat(v);
                }

                break;
            case OnnxAttributeKind.Ints:
                // Unpacked, as proto2 declares it; parsers accept either encoding.
                foreach (var v in a.IntValues!)
                {
                    o.WriteTag(8, WireFormat.WireType.Varint);
                    o.WriteInt64(v);
                }

                break;
            case OnnxAttributeKind.Strings:
                foreach (var s in a.StringValues!)
                {
                    WriteString(o, 9, s);
                }

                break;
            default:
                throw new InvalidOperationException($"Unsupported attribute kind {a.Kind}.");
        }

        o.WriteTag(20, WireFormat.WireType.Varint);
        o.WriteEnum((int)a.Kind);
    });

    private static byte[] EncodeTensor(OnnxTensor t) => Encode(o =>
    {
        foreach (var d in t.Dims)
        {
            o.WriteTag(1, WireFormat.WireType.Varint);
            o.WriteInt64(d);
        }

        o.WriteTag(2, WireFormat.WireType.Varint);
        o.WriteInt32((int)t.ElementType);
        WriteString(o, 8, t.Name);
        switch (t.ElementType)
        {
            case OnnxElementType.Float:
                // raw_data: fixed-width little-endian, the compact form every runtime reads.
                var fb = new byte[t.Floats!.Length * 4];
                for (var i = 0; i < t.Floats.Length; i++)
                {
                    BinaryPrimitives.WriteSingleLittleEndian(fb.AsSpan(i * 4), t.Floats[i]);
                }

                o.WriteTag(9, WireFormat.WireType.LengthDelimited);
                o.WriteBytes(ByteString.CopyFrom(fb));
                break;
            case OnnxElementType.Int64:
                var lb = new byte[t.Int64s!.Length * 8];
                for (var i = 0; i < t.Int64s.Length; i++)
                {
                    BinaryPrimitives.WriteInt64LittleEndian(lb.AsSpan(i * 8), t.Int64s[i]);
                }

                o.WriteTag(9, WireFormat.WireType.LengthDelimited);
                o.WriteBytes(ByteString.CopyFrom(lb));
                break;
            case OnnxElementType.String:
                // Strings cannot use raw_data: onnx.proto requires string_data.
                foreach (var s in t.Strings!)
                {
                    WriteString(o, 6, s);
                }

                break;
            default:
                throw new InvalidOperationException($"Unsupported element type {t.ElementType}.");
        }
    });

    private static byte[] EncodeValueInfo(OnnxValueInfo v) => Encode(o =>
    {
        WriteString(o, 1, v.Name);
        var shape = Encode(s =>
        {
            foreach (var d in v.Shape)
            {
                var dim = Encode(ds =>
                {
                    switch (d)
                    {
                        case long n:
                            ds.WriteTag(1, WireFormat.WireType.Varint);
                            ds.WriteInt64(n);
                            break;
                        case int n:
                            ds.WriteTag(1, WireFormat.WireType.Varint);
                            ds.WriteInt64(n);
                            break;
                        case string p:
                            WriteString(ds, 2, p);
                            break;
                        default:
                            throw new ArgumentException($"Dimension of '{v.Name}' must be a number or a symbol, not {d}.");
                    }
                });
                WriteMessage(s, 1, dim);
            }
        });
        var tensorType = Encode(s =>
        {
            s.WriteTag(1, WireFormat.WireType.Varint);
            s.WriteInt32((int)v.ElementType);
            WriteMessage(s, 2, shape);
        });
        var type = Encode(s => WriteMessage(s, 1, tensorType));
        WriteMessage(o, 2, type);
    });

    private static void WriteString(CodedOutputStream o, int field, string value)
    {
        o.WriteTag(field, WireFormat.WireType.LengthDelimited);
        o.WriteString(value);
    }

    private static void WriteMessage(CodedOutputStream o, int field, byte[] message)
    {
        o.WriteTag(field, WireFormat.WireType.LengthDelimited);
        o.WriteBytes(UnsafeByteOperations.UnsafeWrap(message));
    }

    /// <summary>The bytes of every initializer of <paramref name="graph"/> and of its nodes' subgraphs (Scan bodies).</summary>
    internal static long InitializerBytes(OnnxGraph graph)
    {
        long bytes = 0;
        foreach (var t in graph.Initializers)
        {
            bytes += (t.Floats?.LongLength ?? 0) * sizeof(float) + (t.Int64s?.LongLength ?? 0) * sizeof(long) + (t.Strings?.Sum(x => (long)x.Length * 3) ?? 0);
        }

        foreach (var a in graph.Nodes.SelectMany(n => n.Attributes))
        {
            bytes += a.GraphValue is { } body ? InitializerBytes(body) : 0;
        }

        return bytes;
    }

    private static byte[] Encode(Action<CodedOutputStream> write)
    {
        using var ms = new MemoryStream();
        using (var o = new CodedOutputStream(ms, leaveOpen: true))
        {
            write(o);
        }

        return ms.ToArray();
    }
}
