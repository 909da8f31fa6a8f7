using System.Globalization;
using System.Text;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// What a client sent, as answers and the log quote it: at most <see cref="MaxLength"/> characters, with control
/// characters written as \uXXXX. A number of 60,000 digits, a 10 KB Content-Type or a "sequence" of a megabyte was
/// quoted whole in the 400 or 415 and in the log line, and a series id holding CR or ESC reached the log raw, where it
/// could start a forged line or move a terminal's cursor (hostile-clients QA).
/// </summary>
internal static class ClientText
{
    /// <summary>The most characters of a client's text quoted.</summary>
    public const int MaxLength = 80;

    /// <summary><paramref name="text"/> shortened to <paramref name="max"/> characters (saying how long it was) and made printable.</summary>
    public static string Quote(string text, int max = MaxLength)
    {
        // Never half a surrogate pair (review: a cut after U+D83D left a lone surrogate).
        var cut = max > 0 && max < text.Length && char.IsHighSurrogate(text[max - 1]) ? max - 1 : max;
        var shown = text.Length <= max
            ? text
            : string.Create(CultureInfo.InvariantCulture, $"{text[..cut]}... ({text.Length:N0} characters)");
        return Printable(shown);
    }

    /// <summary>
    /// <paramref name="text"/> with each control character (C0, DEL, C1, line and paragraph separators) and each format
    /// character (bidirectional overrides such as U+202E, zero-width marks: they reorder or hide what a log line shows;
    /// review) as \uXXXX.
    /// </summary>
    public static string Printable(string text)
    {
        if (!text.Any(NotPrintable))
        {
            return text;
        }

        var printable = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            if (NotPrintable(c))
            {
                printable.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
            }
            else
            {
                printable.Append(c);
            }
        }

        return printable.ToString();
    }

    private static bool NotPrintable(char c) =>
        char.IsControl(c) || c is '\u2028' or '\u2029' || (!char.IsSurrogate(c) && char.GetUnicodeCategory(c) == UnicodeCategory.Format);
}
