using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Lmu.MLNet.Forecasting;

/// <summary>
/// The container of an engine's state without its model (<see cref="LmuForecastEngine.SaveState"/>): the magic
/// "LMU-FORECAST-STATE", the format version (int32), the payload length (int64), the SHA-256 of the payload, then the
/// payload: the model fingerprint (32 bytes) and the state as the engine checkpoint writes it. The same checked layout
/// as <see cref="EngineCheckpointFile"/>, in memory, for hosts that keep the model once and many states (a grain per
/// series persists these bytes through its storage provider).
/// </summary>
internal static class EngineStateBytes
{
    /// <summary>The format this version writes and the only one it reads.</summary>
    public const int FormatVersion = 1;

    private const int ChecksumLength = 32;

    private static ReadOnlySpan<byte> Magic => "LMU-FORECAST-STATE"u8;

    private static int HeaderLength => Magic.Length + sizeof(int) + sizeof(long) + ChecksumLength;

    /// <summary>The header, checksum and <paramref name="payload"/> as one array.</summary>
    public static byte[] Seal(ReadOnlySpan<byte> payload)
    {
        var bytes = new byte[HeaderLength + payload.Length];
        var span = bytes.AsSpan();
        Magic.CopyTo(span);
        BinaryPrimitives.WriteInt32LittleEndian(span[Magic.Length..], FormatVersion);
        BinaryPrimitives.WriteInt64LittleEndian(span[(Magic.Length + sizeof(int))..], payload.Length);
        SHA256.HashData(payload, span.Slice(HeaderLength - ChecksumLength, ChecksumLength));
        payload.CopyTo(span[HeaderLength..]);
        return bytes;
    }

    /// <summary>Checks the header and checksum of <paramref name="bytes"/> and returns the payload.</summary>
    /// <exception cref="InvalidDataException">Not an engine state, another format, truncated or corrupt.</exception>
    public static byte[] Open(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < HeaderLength || !bytes[..Magic.Length].SequenceEqual(Magic))
        {
            throw new InvalidDataException($"The {bytes.Length} bytes are not an LMU forecast engine state (written by LmuForecastEngine.SaveState).");
        }

        var version = BinaryPrimitives.ReadInt32LittleEndian(bytes[Magic.Length..]);
        if (version != FormatVersion)
        {
            throw new InvalidDataException($"The engine state has format {version}; this version reads format {FormatVersion}.");
        }

        var announced = BinaryPrimitives.ReadInt64LittleEndian(bytes[(Magic.Length + sizeof(int))..]);
        var held = bytes.Length - HeaderLength;
        if (announced != held)
        {
            throw new InvalidDataException($"The engine state is truncated or has trailing bytes: its header announces {announced} bytes of payload and it holds {held}.");
        }

        var payload = bytes[HeaderLength..];
        Span<byte> checksum = stackalloc byte[ChecksumLength];
        SHA256.HashData(payload, checksum);
        if (!checksum.SequenceEqual(bytes.Slice(HeaderLength - ChecksumLength, ChecksumLength)))
        {
            throw new InvalidDataException("The engine state is corrupt: the SHA-256 of its contents does not match the one it records.");
        }

        return payload.ToArray();
    }
}
