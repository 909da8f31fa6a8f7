using System.Text;

namespace Lmu.MLNet.Data;

/// <summary>
/// A file's characters, decoded strictly: UTF-8 unless a byte-order mark names UTF-16 or UTF-32, and in every case a
/// byte sequence the encoding does not allow throws <see cref="DecoderFallbackException"/> instead of becoming U+FFFD.
/// <see cref="StreamReader"/> cannot do this: on a UTF-8 byte-order mark it switched to its lenient UTF-8, so a file
/// saved as a spreadsheet's "CSV UTF-8" (which writes the mark) read Latin-1 "café" as "caf\uFFFD" (found in review).
/// Reads the stream forward only, so devices and pipes work.
/// </summary>
internal sealed class StrictTextDecoder : IDisposable
{
    private const int ChunkBytes = 1 << 16;

    private static readonly (byte[] Mark, Encoding Encoding)[] Marks =
    [
        // UTF-32 LE first: its mark begins with UTF-16 LE's.
        ([0xFF, 0xFE, 0x00, 0x00], new UTF32Encoding(bigEndian: false, byteOrderMark: false, throwOnInvalidCharacters: true)),
        ([0x00, 0x00, 0xFE, 0xFF], new UTF32Encoding(bigEndian: true, byteOrderMark: false, throwOnInvalidCharacters: true)),
        ([0xEF, 0xBB, 0xBF], new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true)),
        ([0xFF, 0xFE], new UnicodeEncoding(bigEndian: false, byteOrderMark: false, throwOnInvalidBytes: true)),
        ([0xFE, 0xFF], new UnicodeEncoding(bigEndian: true, byteOrderMark: false, throwOnInvalidBytes: true)),
    ];

    private static readonly Encoding Utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly Stream _stream;
    private readonly byte[] _bytes = new byte[ChunkBytes];
    private Decoder? _decoder;
    private bool _ended;

    private readonly long _lengthAtOpen;

    public StrictTextDecoder(string path)
    {
        _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 1, FileOptions.SequentialScan);
        _lengthAtOpen = _stream.CanSeek ? _stream.Length : -1;
    }

    /// <summary>
    /// True when the file (a seekable one) holds more bytes than it did when it was opened: a writer appended to it while
    /// it was read. False for pipes and devices, which cannot tell, and for a file empty when opened: /proc files report a
    /// length of 0 whatever they hold (review: /proc/self/loginuid was refused as grown).
    /// </summary>
    public bool Grew => _lengthAtOpen > 0 && Math.Max(_stream.Position, _stream.Length) > _lengthAtOpen;

    /// <summary>The most characters one <see cref="Read"/> returns (UTF-8's bound, the largest of the encodings).</summary>
    public static int MaxChars { get; } = Utf8.GetMaxCharCount(ChunkBytes);

    /// <summary>The encoding found (UTF-8 before the first read).</summary>
    public Encoding Encoding { get; private set; } = Utf8;

    /// <summary>Decodes the next characters into <paramref name="chars"/> (at least <see cref="MaxChars"/> long); 0 at the end.</summary>
    /// <exception cref="DecoderFallbackException">Bytes the encoding does not allow.</exception>
    public int Read(char[] chars)
    {
        while (!_ended)
        {
            var (start, filled) = _decoder is null ? Start() : (0, _stream.Read(_bytes, 0, _bytes.Length));
            _ended = filled == 0;
            var count = _decoder!.GetChars(_bytes, start, filled - start, chars, 0, flush: _ended);
            if (count > 0)
            {
                return count;
            }
        }

        return 0;
    }

    public void Dispose() => _stream.Dispose();

    // The first bytes, read until a mark can be told (a pipe may give them one at a time); the mark is skipped.
    private (int Start, int Filled) Start()
    {
        var filled = 0;
        while (filled < 4 && _stream.Read(_bytes, filled, _bytes.Length - filled) is var read and > 0)
        {
            filled += read;
        }

        var found = Marks.FirstOrDefault(m => _bytes.AsSpan(0, filled).StartsWith(m.Mark));
        Encoding = found.Encoding ?? Utf8;
        _decoder = Encoding.GetDecoder();
        return (found.Mark?.Length ?? 0, filled);
    }
}
