using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using Lmu.MLNet.Onnx;

namespace Lmu.MLNet;

/// <summary>
/// Checks a model zip before ML.NET opens it: entry sizes and compression ratios from the central directory (nothing
/// is extracted for that), then each carried ONNX graph read within those limits and verified against its SHA-256
/// seal. Every refusal is an <see cref="InvalidDataException"/> naming the file and what to do.
/// </summary>
internal static class ModelZipCheck
{
    /// <summary>ML.NET's entry name (last path segment) for the ONNX bytes an OnnxTransformer carries.</summary>
    public const string OnnxEntryName = "OnnxModel";

    /// <summary>
    /// The integrity of <paramref name="path"/>'s graphs, and each graph's byte count and SHA-256 (what the temp copies
    /// ML.NET writes of them hold, so that a failed load's clean-up can tell its own copies from other loads').
    /// </summary>
    public static (LmuModelIntegrity Integrity, IReadOnlyList<(long Length, byte[] Sha256)> Graphs) Run(string path, LmuModelFileLimits limits)
    {
        limits.Validate();
        EmptyModelFile.Refuse(path, "The model file", "pass a model saved with mlContext.Model.Save");
        using var file = File.OpenRead(path);
        ZipArchive archive;
        try
        {
            archive = new ZipArchive(file, ZipArchiveMode.Read);
        }
        catch (InvalidDataException e)
        {
            throw Refuse(path, $"it is not a zip file ({e.Message})", "pass a model saved with mlContext.Model.Save");
        }

        using (archive)
        {
            CheckSizes(path, archive, limits);
            var lengths = new List<(long Length, byte[] Sha256)>();
            var unsealed = false;
            foreach (var entry in archive.Entries.Where(e => e.Name == OnnxEntryName))
            {
                var onnx = ReadOnnx(path, entry);
                lengths.Add((onnx.Length, System.Security.Cryptography.SHA256.HashData(onnx)));
                try
                {
                    unsealed |= !OnnxIntegrity.Verify(onnx);
                }
                catch (InvalidDataException e)
                {
                    throw Refuse(path, $"its ONNX graph '{entry.FullName}' failed the integrity check: {e.Message}", "save the model again from its training code, or restore the file from a good copy");
                }
            }

            var integrity = lengths.Count == 0 ? LmuModelIntegrity.NoGraph : unsealed ? LmuModelIntegrity.Unsealed : LmuModelIntegrity.Verified;
            return (integrity, lengths);
        }
    }

    /// <summary>The exception every refusal raises: what, where, what to do (one period each, whatever the parts end with).</summary>
    public static InvalidDataException Refuse(string path, string what, string todo, Exception? inner = null) =>
        new($"Could not load the model file '{path}': {what.TrimEnd('.')}. To fix: {todo.TrimEnd('.')}.", inner);

    internal static void CheckSizes(string path, ZipArchive archive, LmuModelFileLimits limits)
    {
        if (archive.Entries.Count > limits.MaxEntries)
        {
            throw Refuse(path, string.Create(CultureInfo.InvariantCulture, $"it has {archive.Entries.Count} entries, more than LmuModelFileLimits.MaxEntries ({limits.MaxEntries})"), LimitsHint);
        }

        long total = 0;
        foreach (var e in archive.Entries)
        {
            if (e.Length > limits.MaxEntryBytes)
            {
                throw Refuse(path, string.Create(CultureInfo.InvariantCulture, $"entry '{e.FullName}' declares {e.Length} bytes uncompressed, more than LmuModelFileLimits.MaxEntryBytes ({limits.MaxEntryBytes})"), LimitsHint);
            }

            if (e.Length >= limits.RatioCheckedFromBytes && e.Length > limits.MaxCompressionRatio * Math.Max(1, e.CompressedLength))
            {
                throw Refuse(
                    path,
                    string.Create(CultureInfo.InvariantCulture, $"entry '{e.FullName}' declares {e.Length} bytes from {e.CompressedLength} compressed, a compression ratio of {e.Length / (double)Math.Max(1, e.CompressedLength):0} above LmuModelFileLimits.MaxCompressionRatio ({limits.MaxCompressionRatio})"),
                    LimitsHint);
            }

            total += e.Length;
            if (total > limits.MaxTotalBytes)
            {
                throw Refuse(path, string.Create(CultureInfo.InvariantCulture, $"its entries declare more than LmuModelFileLimits.MaxTotalBytes ({limits.MaxTotalBytes}) uncompressed"), LimitsHint);
            }
        }
    }

    private const string LimitsHint = "use a model written by mlContext.Model.Save; if the file is trusted and really that large, pass larger LmuModelFileLimits to LmuModelFile.Load";

    /// <summary>The ONNX bytes of an entry (ML.NET writes their Int32 count, then the bytes), read no further than declared.</summary>
    internal static byte[] ReadOnnx(string path, ZipArchiveEntry entry)
    {
        const string todo = "save the model again from its training code, or restore the file from a good copy";
        if (entry.Length < 4 || entry.Length > Array.MaxLength)
        {
            throw Refuse(path, string.Create(CultureInfo.InvariantCulture, $"its ONNX entry '{entry.FullName}' declares {entry.Length} bytes, which cannot hold an ONNX graph"), todo);
        }

        var content = new byte[entry.Length];
        try
        {
            using var s = entry.Open();
            s.ReadExactly(content);
            if (s.ReadByte() >= 0)
            {
                throw Refuse(path, $"its ONNX entry '{entry.FullName}' holds more bytes than the {entry.Length} it declares", todo);
            }
        }
        catch (Exception e) when (e is EndOfStreamException or InvalidDataException && e.Message.IndexOf(path, StringComparison.Ordinal) < 0)
        {
            throw Refuse(path, $"its ONNX entry '{entry.FullName}' cannot be read ({e.Message})", todo, e);
        }

        var count = BinaryPrimitives.ReadInt32LittleEndian(content);
        return count == content.Length - 4
            ? content[4..]
            : throw Refuse(path, string.Create(CultureInfo.InvariantCulture, $"its ONNX entry '{entry.FullName}' announces a graph of {count} bytes but holds {content.Length - 4}: it is truncated or corrupted"), todo);
    }
}
