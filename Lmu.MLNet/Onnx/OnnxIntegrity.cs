using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;

namespace Lmu.MLNet.Onnx;

/// <summary>
/// A SHA-256 seal inside a serialized ONNX ModelProto: a <c>metadata_props</c> entry (field 14) keyed
/// <see cref="Key"/>, written as the model's LAST top-level field, whose value is the hex digest of every byte before
/// it. Protobuf readers (ONNX Runtime among them) ignore the entry's meaning, so a sealed model stays an ordinary ONNX
/// model; a verifier needs no protobuf schema, only the top-level framing.
/// </summary>
internal static class OnnxIntegrity
{
    /// <summary>The metadata_props key of the seal.</summary>
    public const string Key = "lmu.sha256";

    private const int MetadataPropsField = 14;

    /// <summary><paramref name="model"/> followed by its seal.</summary>
    public static byte[] Seal(byte[] model)
    {
        var digest = Convert.ToHexStringLower(SHA256.HashData(model));
        using var entry = new MemoryStream();
        using (var e = new CodedOutputStream(entry, leaveOpen: true))
        {
            e.WriteTag(1, WireFormat.WireType.LengthDelimited);
            e.WriteString(Key);
            e.WriteTag(2, WireFormat.WireType.LengthDelimited);
            e.WriteString(digest);
        }

        using var ms = new MemoryStream();
        ms.Write(model);
        using (var o = new CodedOutputStream(ms, leaveOpen: true))
        {
            o.WriteTag(MetadataPropsField, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(ByteString.CopyFrom(entry.ToArray()));
        }

        return ms.ToArray();
    }

    /// <summary>
    /// True when <paramref name="model"/> carries a seal that matches, false when it has none (a model written before
    /// seals existed, or by another tool). Throws <see cref="InvalidDataException"/> when the top-level framing is broken
    /// (truncated or corrupted bytes) or the seal does not match the bytes.
    /// </summary>
    public static bool Verify(ReadOnlySpan<byte> model)
    {
        var sealAt = -1;
        string? digest = null;
        var position = 0;
        while (position < model.Length)
        {
            var start = position;
            var tag = ReadVarint(model, ref position);
            var field = (int)(tag >> 3);
            var wire = (int)(tag & 7);
            if (field == 0)
            {
                throw Broken(start, "field number 0");
            }

            switch (wire)
            {
                case 0:
                    ReadVarint(model, ref position);
                    break;
                case 1:
                    Skip(model, ref position, 8, start);
                    break;
                case 5:
                    Skip(model, ref position, 4, start);
                    break;
                case 2:
                    var length = ReadVarint(model, ref position);
                    if (length > (ulong)(model.Length - position))
                    {
                        throw Broken(start, $"a field of {length} bytes runs past the end ({model.Length} bytes)");
                    }

                    var body = model.Slice(position, (int)length);
                    position += (int)length;
                    if (field == MetadataPropsField && SealDigest(body) is { } found)
                    {
                        if (digest is not null)
                        {
                            throw new InvalidDataException("the ONNX model carries two SHA-256 seals: it was altered after it was written.");
                        }

                        (sealAt, digest) = (start, found);
                    }

                    break;
                default:
                    throw Broken(start, $"wire type {wire}, which ONNX models do not use");
            }

            if (digest is not null && sealAt != start)
            {
                throw new InvalidDataException("the ONNX model has fields after its SHA-256 seal: it was altered after it was written.");
            }
        }

        if (digest is null)
        {
            return false;
        }

        var actual = Convert.ToHexStringLower(SHA256.HashData(model[..sealAt]));
        return actual == digest
            ? true
            : throw new InvalidDataException($"the ONNX model's SHA-256 is {actual}, but it was sealed with {digest}: its bytes changed after it was written (corrupted or tampered with).");
    }

    /// <summary>The digest when <paramref name="entry"/> is a StringStringEntryProto keyed <see cref="Key"/>; else null.</summary>
    private static string? SealDigest(ReadOnlySpan<byte> entry)
    {
        string? key = null;
        string? value = null;
        var position = 0;
        while (position < entry.Length)
        {
            var start = position;
            var tag = ReadVarint(entry, ref position);
            if ((tag & 7) != 2)
            {
                return null;
            }

            var length = ReadVarint(entry, ref position);
            if (length > (ulong)(entry.Length - position))
            {
                throw Broken(start, "a metadata entry runs past its end");
            }

            var text = Encoding.UTF8.GetString(entry.Slice(position, (int)length));
            position += (int)length;
            switch (tag >> 3)
            {
                case 1:
                    key = text;
                    break;
                case 2:
                    value = text;
                    break;
            }
        }

        return key == Key ? value ?? string.Empty : null;
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> bytes, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (position >= bytes.Length)
            {
                throw Broken(position, "the bytes end inside a number");
            }

            var b = bytes[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }

        throw Broken(position, "a number longer than 10 bytes");
    }

    private static void Skip(ReadOnlySpan<byte> bytes, ref int position, int count, int start)
    {
        if (bytes.Length - position < count)
        {
            throw Broken(start, "the bytes end inside a field");
        }

        position += count;
    }

    private static InvalidDataException Broken(int at, string what) =>
        new($"the ONNX model is not a valid protobuf message at byte {at} ({what}): it is truncated or corrupted.");
}
