using System.Globalization;
using System.Text;
using System.Text.Unicode;

namespace Lmu.MLNet.Data;

/// <summary>
/// The lines of a text file read as strict UTF-8 (a byte-order mark for UTF-16 or UTF-32 is still followed): bytes that
/// are not UTF-8 stop the read with an error naming the file, the line and the byte, instead of each becoming U+FFFD.
/// Found by QA: a Latin-1 file labelled "café" and "cafè" was read as one class "caf\uFFFD" of both, and trained (a
/// .ts file failed later on a duplicate key). Used by the UCR loaders and the Samples app's readers.
/// </summary>
internal static class StrictTextLines
{
    /// <summary>
    /// The most characters one line may hold: 16 Mi, about 1.6 million values of ten characters, 2,500 times the longest
    /// line of the shared UCR/UEA and M4 files (6,684). Before the limit a file without line breaks (a binary file, or a
    /// device such as <c>/dev/zero</c>) was read into one string until the process ran out of memory (found by QA).
    /// </summary>
    internal const int MaxLineCharacters = 1 << 24;

    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The file's lines, read as they are enumerated.</summary>
    public static IEnumerable<string> Read(string path) => Read(path, MaxLineCharacters);

    /// <summary>
    /// The file's lines, each at most <paramref name="maxLine"/> characters; ends of line as
    /// <see cref="TextReader.ReadLine"/> has them (\n, \r\n or \r). Lines are found chunk by chunk, so a line over the limit
    /// or holding a NUL is refused before more of it is read.
    /// </summary>
    internal static IEnumerable<string> Read(string path, int maxLine)
    {
        using var decoder = new StrictTextDecoder(path);
        var chunk = new char[StrictTextDecoder.MaxChars];
        var line = new StringBuilder();
        var (at, filled) = (0, 0);
        var afterCarriageReturn = false;
        long number = 0;
        while (true)
        {
            if (at == filled)
            {
                (at, filled) = (0, Fill(decoder, chunk, path, number));
                if (filled == 0)
                {
                    if (line.Length > 0)
                    {
                        if (decoder.Grew)
                        {
                            throw HalfWritten(path, number + 1);
                        }

                        yield return line.ToString();
                    }

                    yield break;
                }
            }

            if (afterCarriageReturn)
            {
                // \r\n is one end of line, even where the chunk ends between the two.
                afterCarriageReturn = false;
                if (chunk[at] == '\n')
                {
                    at++;
                    continue;
                }
            }

            var rest = chunk.AsSpan(at, filled - at);
            var end = rest.IndexOfAny('\r', '\n', '\0');
            var text = end < 0 ? rest : rest[..end];
            if ((long)line.Length + text.Length > maxLine)
            {
                throw TooLong(path, number + 1, maxLine);
            }

            if (end < 0)
            {
                line.Append(text);
                at = filled;
                continue;
            }

            if (rest[end] == '\0')
            {
                // All-ASCII UTF-16 without its mark is valid UTF-8 with a NUL beside every letter: the columns were listed
                // as "t^@i^@m^@e^@" (found by QA).
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                    $"'{path}' line {number + 1} holds NUL characters, as UTF-16 text without its byte-order mark does, or a file that is not text. Save the file as UTF-8 (a spreadsheet's \"CSV UTF-8\"; a UTF-16 file needs its byte-order mark)."));
            }

            number++;
            afterCarriageReturn = rest[end] == '\r';
            at += end + 1;
            if (line.Length == 0)
            {
                yield return new string(text);
            }
            else
            {
                line.Append(text);
                yield return line.ToString();
                line.Clear();
            }
        }
    }

    // QA: a reading appended in two writes ("94", then ".313\n") was read as 94 by forecast-stream, exit 0, and the wrong
    // value went into its checkpoint. A last line without a line end is read as a line in a file that stood still.
    private static InvalidDataException HalfWritten(string path, long line) => new(string.Create(CultureInfo.InvariantCulture,
        $"'{path}' line {line} has no line end, and the file grew while it was read: the line may be half-written by a program still appending to it. Read the file again once that line ends with a line break (or read a copy taken when the writer has finished)."));

    private static int Fill(StrictTextDecoder decoder, char[] chunk, string path, long linesRead)
    {
        try
        {
            return decoder.Read(chunk);
        }
        catch (DecoderFallbackException)
        {
            if (decoder.Encoding is UTF8Encoding)
            {
                // Decoded ahead of the line returned, so the line is found from the bytes.
                throw NotUtf8(path);
            }

            var where = linesRead == 0 ? string.Empty : string.Create(CultureInfo.InvariantCulture, $" after line {linesRead}");
            throw new InvalidDataException(
                $"'{path}'{where}: the text is not valid {decoder.Encoding.WebName.ToUpperInvariant()}, which its byte-order mark declares (a lone surrogate, or a value beyond Unicode). Save the file as UTF-8.");
        }
    }

    private static InvalidDataException TooLong(string path, long line, int maxLine) =>
        new(string.Create(CultureInfo.InvariantCulture,
            $"'{path}' line {line} is longer than {maxLine:N0} characters, the most a line may hold: the file is not line-based text (a binary file, or a device such as /dev/zero), or one line holds a whole long series; write such a series one value per line (the long layout)."));

    private static InvalidDataException NotUtf8(string path)
    {
        var (line, value, nul) = FirstInvalidByte(path);
        // UTF-16 without its mark decodes as UTF-8 until the first character past ASCII, with a NUL beside every letter
        // (found in review: reported as Latin-1 would be).
        var utf16 = nul ? " The file holds NUL bytes, as UTF-16 text without its byte-order mark does." : string.Empty;
        return new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"'{path}' line {line}: byte 0x{value:X2} is not UTF-8 text.") + utf16 +
            " Save the file as UTF-8 (a spreadsheet's \"CSV UTF-8\"; a UTF-16 file needs its byte-order mark): read as it is, every character " +
            "such bytes encode would become the same replacement character, so text that differs only there (two labels) would read the same.");
    }

    /// <summary>
    /// The line ends in <paramref name="bytes"/> as the reader finds them (\n, \r\n, a lone \r; found in review: a file of
    /// lone \r ends was said to fail on line 1). A \r at the end is left for the next bytes to decide
    /// (<paramref name="carriageReturn"/>), and one left before is counted unless these start with \n.
    /// </summary>
    private static int LineEnds(ReadOnlySpan<byte> bytes, ref bool carriageReturn)
    {
        if (bytes.IsEmpty)
        {
            return 0;
        }

        var ends = carriageReturn && bytes[0] != (byte)'\n' ? 1 : 0;
        carriageReturn = false;
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == (byte)'\n')
            {
                ends++;
            }
            else if (bytes[i] == (byte)'\r')
            {
                if (i + 1 == bytes.Length)
                {
                    carriageReturn = true;
                }
                else if (bytes[i + 1] != (byte)'\n')
                {
                    ends++;
                }
            }
        }

        return ends;
    }

    private static (long Line, byte Value, bool Nul) FirstInvalidByte(string path)
    {
        // Read in chunks, not whole: the file may be a device without end (/dev/urandom is refused here).
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var bytes = new byte[1 << 20];
        var chars = new char[bytes.Length];
        var (line, kept, nul, first, carriageReturn) = (1L, 0, false, true, false);
        while (true)
        {
            var read = stream.Read(bytes, kept, bytes.Length - kept);
            var filled = kept + read;
            var start = first && bytes.AsSpan(0, filled).StartsWith(Strict.Preamble) ? Strict.Preamble.Length : 0;
            first = false;
            var status = Utf8.ToUtf16(bytes.AsSpan(start, filled - start), chars, out var valid, out _, replaceInvalidSequences: false, isFinalBlock: read == 0);
            var at = start + valid;
            nul |= bytes.AsSpan(0, filled).Contains((byte)0);
            line += LineEnds(bytes.AsSpan(0, at), ref carriageReturn);
            if (status == System.Buffers.OperationStatus.InvalidData || read == 0)
            {
                // A \r just before the bad byte ended a line (the bad byte is not \n).
                return (line + (carriageReturn ? 1 : 0), at < filled ? bytes[at] : (byte)0, nul);
            }

            // An incomplete sequence at the chunk's end is decoded with the next chunk.
            kept = filled - at;
            bytes.AsSpan(at, kept).CopyTo(bytes);
        }
    }
}
