using System.Buffers.Binary;
using System.IO.Compression;
using Google.Protobuf;

namespace Lmu.MLNet.Forecasting;

/// <summary>
/// Reads the engine state a forecaster's zip carries straight from the file's ONNX entries, without running ML.NET's
/// chain. Why: reading through the chain needs the input schema the zip was saved with to bind the forecaster's scorer,
/// and a forecaster saved with its series rows' schema (<c>mlContext.Model.Save(model, data.Schema, path)</c>, ML.NET's
/// usual call) has no window column there, so its state, which was in the file, was reported missing (regression QA).
/// </summary>
internal static class ForecastEngineStateZip
{
    /// <summary>The name of the state graph (<see cref="ForecastEngineStateOnnx"/>'s writer sets it).</summary>
    public const string GraphName = "lmu_forecast_engine_state";

    /// <summary>The name of the state graph's Int64 initializer.</summary>
    public const string InitializerName = "engine_state";

    /// <summary>The packed state of the zip at <paramref name="path"/>, or null when none of its graphs is a state graph.</summary>
    /// <remarks>Call after <see cref="ModelZipCheck.Run"/> has checked the file's entry sizes and graph seals.</remarks>
    public static long[]? Packed(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        // The file is opened again here: one replaced since the check could declare entries of gigabytes, which the read
        // below would allocate (files QA), so the sizes are checked again against the default limits.
        ModelZipCheck.CheckSizes(path, zip, LmuModelFileLimits.Default);
        foreach (var entry in zip.Entries.Where(e => e.Name == ModelZipCheck.OnnxEntryName))
        {
            // ML.NET's entry: the graph's length, then the graph.
            if (StateOf(ModelZipCheck.ReadOnnx(path, entry)) is { } packed)
            {
                return packed;
            }
        }

        return null;
    }

    /// <summary>The state initializer of <paramref name="model"/> (ONNX ModelProto bytes) when it is the state graph; else null.</summary>
    internal static long[]? StateOf(byte[] model)
    {
        try
        {
            var input = new CodedInputStream(model);
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                // ModelProto.graph = 7.
                if (WireFormat.GetTagFieldNumber(tag) == 7 && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
                {
                    return FromGraph(input.ReadBytes());
                }

                input.SkipLastField();
            }
        }
        catch (InvalidProtocolBufferException)
        {
            // Not a graph this reader understands, so not the state graph this library writes (whose seal the zip check
            // verified).
        }

        return null;
    }

    private static long[]? FromGraph(ByteString graph)
    {
        var input = graph.CreateCodedInput();
        string? name = null;
        ByteString? raw = null;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 2 when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited: // GraphProto.name
                    name = input.ReadString();
                    break;
                case 5 when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited: // GraphProto.initializer
                    raw = StateData(input.ReadBytes()) ?? raw;
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        if (name != GraphName || raw is null || raw.Length % sizeof(long) != 0)
        {
            return null;
        }

        var bytes = raw.Span;
        var packed = new long[bytes.Length / sizeof(long)];
        for (var i = 0; i < packed.Length; i++)
        {
            packed[i] = BinaryPrimitives.ReadInt64LittleEndian(bytes[(i * sizeof(long))..]);
        }

        return packed;
    }

    // TensorProto: name = 8, raw_data = 9 (the writer stores Int64 tensors as little-endian raw data).
    private static ByteString? StateData(ByteString tensor)
    {
        var input = tensor.CreateCodedInput();
        string? name = null;
        ByteString? raw = null;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 8 when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited:
                    name = input.ReadString();
                    break;
                case 9 when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited:
                    raw = input.ReadBytes();
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        return name == InitializerName ? raw : null;
    }
}
