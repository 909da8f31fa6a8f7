using System.Globalization;
using System.Text;

namespace Lmu.MLNet.Samples.Terminal;

/// <summary>
/// How many terminal columns text takes, for tables whose labels are the user's: an East Asian wide or full-width
/// character or an emoji takes two, a combining mark or joiner none (it belongs to the character before it), every other
/// user-perceived character one. <see cref="string.PadLeft(int)"/> counts UTF-16 code units, so a table of CJK labels
/// went out of line (found by QA). The ranges are Unicode's East Asian Width classes W and F and the emoji blocks of
/// the supplementary planes; the few emoji among the basic plane's symbols (U+2600-27BF: ✅, ☕) count one column, as
/// the symbols around them do, so such a label misaligns its own line only.
/// </summary>
internal static class DisplayWidth
{
    /// <summary>The columns <paramref name="text"/> takes.</summary>
    public static int Of(string text)
    {
        var width = 0;
        var elements = StringInfo.GetTextElementEnumerator(text);
        while (elements.MoveNext())
        {
            // One user-perceived character (a base and its marks, an emoji sequence): its first scalar decides.
            var element = (string)elements.Current;
            width += Rune.TryGetRuneAt(element, 0, out var rune) ? Columns(rune) : 1;
        }

        return width;
    }

    /// <summary><paramref name="text"/> with spaces before it to take <paramref name="width"/> columns.</summary>
    public static string PadLeft(string text, int width) => new string(' ', Math.Max(0, width - Of(text))) + text;

    /// <summary><paramref name="text"/> with spaces after it to take <paramref name="width"/> columns.</summary>
    public static string PadRight(string text, int width) => text + new string(' ', Math.Max(0, width - Of(text)));

    private static int Columns(Rune rune)
    {
        var category = Rune.GetUnicodeCategory(rune);
        if (category is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format or UnicodeCategory.Control)
        {
            return 0;
        }

        var c = rune.Value;
        var wide = c is >= 0x1100 and <= 0x115F // Hangul leading consonants
            or >= 0x2E80 and <= 0x303E // CJK radicals, punctuation
            or >= 0x3041 and <= 0x33FF // kana, CJK symbols
            or >= 0x3400 and <= 0x4DBF // CJK extension A
            or >= 0x4E00 and <= 0x9FFF // CJK unified ideographs
            or >= 0xA000 and <= 0xA4CF // Yi
            or >= 0xAC00 and <= 0xD7A3 // Hangul syllables
            or >= 0xF900 and <= 0xFAFF // CJK compatibility ideographs
            or >= 0xFE30 and <= 0xFE4F // CJK compatibility forms
            or >= 0xFF00 and <= 0xFF60 // full-width forms
            or >= 0xFFE0 and <= 0xFFE6
            or >= 0x1F1E6 and <= 0x1F1FF // regional indicators (a flag is a pair, one text element)
            or >= 0x1F200 and <= 0x1F2FF // enclosed ideographic supplement
            or >= 0x1F300 and <= 0x1F64F // pictographs, emoticons
            or >= 0x1F680 and <= 0x1F6FF // transport and map symbols
            or >= 0x1F900 and <= 0x1FAFF // supplemental pictographs, symbols and pictographs extended-A
            or >= 0x20000 and <= 0x3FFFD; // CJK extensions B and later
        return wide ? 2 : 1;
    }
}
