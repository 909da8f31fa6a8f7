using System.Buffers.Binary;
using System.IO.Compression;

namespace Lmu.MLNet.Samples.PsMnist;

/// <summary>Reads gzip-compressed IDX files (LeCun's MNIST format: big-endian header, then u8 data).</summary>
internal static class IdxReader
{
    /// <summary>Images as bytes [count, rows*cols] and the image size.</summary>
    public static (byte[] Pixels, int Count, int Width) Images(string path)
    {
        var data = ReadAll(path);
        Check(data, 0x00000803, path);
        var count = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(4));
        var rows = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(8));
        var cols = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(12));
        var width = rows * cols;
        if (data.Length != 16 + ((long)count * width))
        {
            throw new InvalidDataException($"{path}: {data.Length} bytes, expected 16 + {count} x {width}.");
        }

        return (data[16..], count, width);
    }

    /// <summary>Labels as bytes.</summary>
    public static byte[] Labels(string path)
    {
        var data = ReadAll(path);
        Check(data, 0x00000801, path);
        var count = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(4));
        if (data.Length != 8 + count)
        {
            throw new InvalidDataException($"{path}: {data.Length} bytes, expected 8 + {count}.");
        }

        return data[8..];
    }

    private static byte[] ReadAll(string path)
    {
        using var file = File.OpenRead(path);
        using var gz = new GZipStream(file, CompressionMode.Decompress);
        using var memory = new MemoryStream();
        gz.CopyTo(memory);
        return memory.ToArray();
    }

    private static void Check(byte[] data, int magic, string path)
    {
        if (data.Length < 8 || BinaryPrimitives.ReadInt32BigEndian(data) != magic)
        {
            throw new InvalidDataException($"{path}: not an IDX file with magic 0x{magic:X8}.");
        }
    }
}
