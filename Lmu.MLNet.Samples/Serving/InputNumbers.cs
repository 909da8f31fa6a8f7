using System.Globalization;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// The one rule for numbers a model is asked to score, shared by <c>predict</c> (CSV) and <c>serve</c> (JSON): finite
/// values only. NaN or Infinity in a row scores NaN (and, before the classifier head checked for it, a confident first
/// class), so both commands refuse the row and name where the value was.
/// </summary>
internal static class InputNumbers
{
    /// <summary>What a value must be, for messages: "'x' must be a finite number".</summary>
    public const string Rule = "must be a finite number";

    /// <summary>True when <paramref name="value"/> may be scored.</summary>
    public static bool Accepts(float value) => float.IsFinite(value);

    /// <summary>Parses one CSV value (invariant culture): false when it is not a number, <paramref name="finite"/> false when it is NaN, Infinity or overflows float.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out float value, out bool finite)
    {
        var ok = float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
        finite = ok && Accepts(value);
        return ok;
    }
}
