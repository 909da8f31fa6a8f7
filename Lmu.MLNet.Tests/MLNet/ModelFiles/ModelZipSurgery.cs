using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Lmu.MLNet.Tests.MLNet.ModelFiles;

/// <summary>Crafts hostile model zips from a good one: rewritten ONNX entries and lying central directories.</summary>
internal static class ModelZipSurgery
{
    /// <summary>ML.NET's entry name for the ONNX bytes an OnnxTransformer carries.</summary>
    public const string OnnxEntrySuffix = "/OnnxModel";

    /// <summary>The ONNX bytes of the first carried graph (ML.NET prefixes them with their Int32 length).</summary>
    public static byte[] ReadOnnx(string zip)
    {
        using var archive = ZipFile.OpenRead(zip);
        using var s = OnnxEntry(archive).Open();
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray()[4..];
    }

    /// <summary>Copies <paramref name="zip"/> to <paramref name="target"/> with the ONNX entry's raw content (prefix included) replaced.</summary>
    public static void RewriteOnnxEntry(string zip, string target, Func<byte[], byte[]> rewrite, CompressionLevel level = CompressionLevel.Optimal)
    {
        File.Copy(zip, target, overwrite: true);
        using var archive = ZipFile.Open(target, ZipArchiveMode.Update);
        var entry = OnnxEntry(archive);
        var name = entry.FullName;
        byte[] content;
        using (var s = entry.Open())
        using (var ms = new MemoryStream())
        {
            s.CopyTo(ms);
            content = ms.ToArray();
        }

        entry.Delete();
        using var w = archive.CreateEntry(name, level).Open();
        w.Write(rewrite(content));
    }

    /// <summary>The entry content ML.NET writes for <paramref name="onnx"/>: the Int32 length, then the bytes.</summary>
    public static byte[] Prefixed(byte[] onnx)
    {
        var content = new byte[onnx.Length + 4];
        BinaryPrimitives.WriteInt32LittleEndian(content, onnx.Length);
        onnx.CopyTo(content, 4);
        return content;
    }

    /// <summary>Patches the ONNX entry's declared uncompressed size in its local header and the central directory, without touching the data.</summary>
    public static void DeclareOnnxSize(string zip, string target, uint declared)
    {
        var bytes = File.ReadAllBytes(zip);
        var patched = 0;
        for (var i = 0; i + 46 < bytes.Length; i++)
        {
            var signature = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i));
            // Local file header: size at 22, name length at 26, name at 30. Central directory header: size at 24, name length at 28, name at 46.
            var (sizeAt, nameLengthAt, nameAt) = signature switch
            {
                0x04034b50 => (22, 26, 30),
                0x02014b50 => (24, 28, 46),
                _ => (-1, -1, -1),
            };
            if (sizeAt < 0)
            {
                continue;
            }

            var nameLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(i + nameLengthAt));
            if (i + nameAt + nameLength > bytes.Length)
            {
                continue;
            }

            var name = Encoding.UTF8.GetString(bytes, i + nameAt, nameLength);
            if (name.EndsWith(OnnxEntrySuffix, StringComparison.Ordinal))
            {
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i + sizeAt), declared);
                patched++;
            }
        }

        Assert.AreEqual(2, patched, "expected the ONNX entry's local header and central directory record");
        File.WriteAllBytes(target, bytes);
    }

    private static ZipArchiveEntry OnnxEntry(ZipArchive archive) =>
        archive.Entries.First(e => e.FullName.EndsWith(OnnxEntrySuffix, StringComparison.Ordinal));
}
