using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Lmu.MLNet.Forecasting;

/// <summary>
/// The container of an engine checkpoint (format 2): the magic "LMU-FORECAST-CKPT", the format version (int32), the
/// payload length (int64), the SHA-256 of the payload (32 bytes), then the payload. The checksum is checked before a
/// byte of the payload is parsed, so a damaged file fails in one pass over its bytes, whatever the damage.
/// </summary>
/// <remarks>
/// Writes go to a temp file beside the target (<c>target.tmp-{guid}</c>), flushed to disk, then moved over the target
/// (<see cref="AtomicFile"/>), so a killed write leaves the previous checkpoint intact. The temp files a killed write leaves are removed by the
/// next write of the same target (those last written before that write started) or the next load (those last written
/// before the checkpoint itself, i.e. writes that never completed). On Linux (where a move over a file is atomic even
/// while it is read) two writers of one target at once each complete, the last move winning, and a reader meanwhile sees
/// one whole checkpoint (QA: 8 threads x 200 writes of different engines to one path beside 2 reading threads, every
/// load a valid state); a sweep may remove the other writer's temp file only once it is older than the grace period. On
/// Windows a move over a file another thread has open fails (not measured here).
/// </remarks>
internal static class EngineCheckpointFile
{
    /// <summary>The format this version writes for every model that older versions (from format 2 on) also read.</summary>
    public const int FormatVersion = 2;

    /// <summary>
    /// The format of a model that readers of format 2 cannot read: one whose scale floor is in its data's units
    /// (2026-12-07). Marked in the header so that such a reader refuses it as a newer format; written as format 2, it was
    /// refused deep inside as "inconsistent: unknown scaling 257", which reads as a damaged file (upgrade QA).
    /// </summary>
    public const int NewestFormat = 3;

    /// <summary>The format a checkpoint of <paramref name="model"/> is written in: the oldest whose readers can read it.</summary>
    internal static int FormatFor(LmuForecastModel model) => model.RelativeScaleFloor ? NewestFormat : FormatVersion;

    // Format 1 began with this string as a BinaryWriter string (a length byte of 19, then ASCII), without a checksum.
    private const string Format1Magic = "LMU-FORECAST-ENGINE";
    private const string TempMarker = ".tmp-";
    private const int ChecksumLength = 32;

    private static ReadOnlySpan<byte> Magic => "LMU-FORECAST-CKPT"u8;

    private static int HeaderLength => Magic.Length + sizeof(int) + sizeof(long) + ChecksumLength;

    /// <summary>Writes <paramref name="payload"/> atomically to <paramref name="path"/> (stale temp files of earlier writes go after it).</summary>
    /// <param name="path">The checkpoint file.</param>
    /// <param name="payload">Its contents.</param>
    /// <param name="format">The format written in the header (<see cref="FormatFor"/>).</param>
    public static void Write(string path, byte[] payload, int format)
    {
        // AtomicFile removes stale temp files beside the target (a link's target's folder) after the write.
        AtomicFile.Write(path, stream =>
        {
            Span<byte> header = stackalloc byte[HeaderLength];
            Magic.CopyTo(header);
            BinaryPrimitives.WriteInt32LittleEndian(header[Magic.Length..], format);
            BinaryPrimitives.WriteInt64LittleEndian(header[(Magic.Length + sizeof(int))..], payload.Length);
            SHA256.HashData(payload, header[(HeaderLength - ChecksumLength)..]);
            stream.Write(header);
            stream.Write(payload);
        }, TempMarker);
    }

    /// <summary>
    /// Reads <paramref name="path"/>, checks its header and checksum, and returns its payload.
    /// </summary>
    /// <exception cref="InvalidDataException">Not a checkpoint, another format, truncated, or corrupt; the message names the file.</exception>
    public static MemoryStream ReadPayload(string path)
    {
        byte[] header, payload;
        EmptyModelFile.Refuse(path, "The engine checkpoint", "pass a file written by the engine's CheckPoint");
        using (var stream = File.OpenRead(path))
        {
            // The header first: a file that is not a checkpoint (or announces another size) is refused before its
            // contents are read, whatever its length.
            header = new byte[Math.Min(HeaderLength, stream.Length)];
            stream.ReadExactly(header);
            CheckHeader(path, header, stream.Length);
            payload = new byte[stream.Length - HeaderLength];
            stream.ReadExactly(payload);
        }

        RemoveTempFiles(path, olderThan: File.GetLastWriteTimeUtc(path));
        Span<byte> checksum = stackalloc byte[ChecksumLength];
        SHA256.HashData(payload, checksum);
        if (!checksum.SequenceEqual(header.AsSpan(HeaderLength - ChecksumLength)))
        {
            throw new InvalidDataException($"The checkpoint '{path}' is corrupt: the SHA-256 of its contents does not match the one it records.");
        }

        return new MemoryStream(payload, writable: false);
    }

    private static void CheckHeader(string path, byte[] header, long fileLength)
    {
        if (IsFormat1(header))
        {
            throw new InvalidDataException(
                $"'{path}' is a format-1 engine checkpoint, written before checkpoints carried a checksum and a model fingerprint; this " +
                $"version reads formats {FormatVersion} to {NewestFormat}, and does not resume a state it cannot verify. It cannot be converted: start the " +
                "stream again from the fitted transformer's CreateEngine() (feeding the observations since) and CheckPoint it with this version. A model zip saved from a " +
                "forecaster fitted with Lmu.MLNet 0.4.0 or later also starts a stream (LmuForecastEngineModel.Load); for an older model without its fitted transformer, fit the model again.");
        }

        if (header.Length < HeaderLength || !header.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            // API QA: a model zip given here was refused without a word of the loads that read one.
            var zip = header.Length >= 4 && header.AsSpan(0, 4).SequenceEqual("PK\u0003\u0004"u8);
            throw new InvalidDataException(zip
                ? $"'{path}' is a zip, not an LMU forecast engine checkpoint: a model zip carrying an engine (a forecaster's, fitted with 0.4.0 or later, or a typed engine's CheckPoint zip) starts its stream with LmuForecastEngineModel.Load(path).CreateEngine() or LmuForecastTimeSeriesEngine.Load(mlContext, path)."
                : $"'{path}' is not an LMU forecast engine checkpoint.");
        }

        var version = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(Magic.Length));
        if (version is < FormatVersion or > NewestFormat)
        {
            throw new InvalidDataException(
                $"'{path}' has checkpoint format {version}; this version reads formats {FormatVersion} to {NewestFormat}" +
                (version > NewestFormat ? ". A newer version of Lmu.MLNet wrote it: upgrade Lmu.MLNet where it is read." : "."));
        }

        var announced = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(Magic.Length + sizeof(int)));
        var held = fileLength - HeaderLength;
        if (announced != held || held > Array.MaxLength)
        {
            throw new InvalidDataException(
                $"The checkpoint '{path}' is truncated or has trailing bytes: its header announces {announced} bytes of payload and it holds {held}.");
        }
    }

    private static bool IsFormat1(byte[] bytes) =>
        bytes.Length > Format1Magic.Length && bytes[0] == Format1Magic.Length
        && bytes.AsSpan(1, Format1Magic.Length).SequenceEqual(Encoding.ASCII.GetBytes(Format1Magic));

    // Only names this library makes (target + ".tmp-" + 32 hex digits, .lmu-{guid}.tmp), so no file of the user's is ever removed.
    private static void RemoveTempFiles(string path, DateTime olderThan) => AtomicFile.RemoveStaleTemps(path, TempMarker, olderThan);
}
