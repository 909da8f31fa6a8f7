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
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The file's lines, read as they are enumerated.</summary>
    public static IEnumerable<string> Read(string path)
    {
        using var reader = new StreamReader(path, Strict, detectEncodingFromByteOrderMarks: true);
        long number = 0;
        while (true)
        {
            string? line;
            try
            {
                line = reader.ReadLine();
            }
            catch (DecoderFallbackException)
            {
                // The reader decodes ahead of the line it returns, so the line is found from the bytes.
                throw NotUtf8(path);
            }

            if (line is null)
            {
                yield break;
            }

            number++;
            if (line.Contains('\0', StringComparison.Ordinal))
            {
                // All-ASCII UTF-16 without its mark is valid UTF-8 with a NUL beside every letter: the columns were listed
                // as "t^@i^@m^@e^@" (found by QA).
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                    $"'{path}' line {number} holds NUL characters, as UTF-16 text without its byte-order mark does. Save the file as UTF-8 (a spreadsheet's \"CSV UTF-8\"; a UTF-16 file needs its byte-order mark)."));
            }

            yield return line;
        }
    }

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

    private static (long Line, byte Value, bool Nul) FirstInvalidByte(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var start = bytes.AsSpan().StartsWith(Strict.Preamble) ? Strict.Preamble.Length : 0;
        var chars = new char[Math.Max(1, bytes.Length)];
        Utf8.ToUtf16(bytes.AsSpan(start), chars, out var read, out _, replaceInvalidSequences: false);
        var at = start + read;
        var line = 1 + bytes.AsSpan(0, Math.Min(at, bytes.Length)).Count((byte)'\n');
        return (line, at < bytes.Length ? bytes[at] : (byte)0, bytes.AsSpan().Contains((byte)0));
    }
}
