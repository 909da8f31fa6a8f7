using System.Globalization;

namespace Lmu.MLNet.Maths;

/// <summary>
/// Argument checks shared by the maths types, so every entry point reports the same parameter name and the offending
/// value in the message (invariant culture, so the text does not depend on the machine's locale).
/// </summary>
internal static class MathsGuard
{
    /// <summary>Rejects a Legendre order below 1.</summary>
    internal static void Order(int order)
    {
        if (order < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(order), order, Format($"order must be at least 1 but was {order}."));
        }
    }

    /// <summary>Rejects a window length that is not a finite positive number.</summary>
    internal static void Theta(double theta)
    {
        if (!(theta > 0) || !double.IsFinite(theta))
        {
            throw new ArgumentOutOfRangeException(nameof(theta), theta, Format($"theta must be finite and greater than 0 but was {theta:R}."));
        }
    }

    /// <summary>Rejects an enum value that is not one of the declared discretizers (enums accept any integer by cast).</summary>
    internal static void Method(LmuDiscretizer method)
    {
        if (method is not (LmuDiscretizer.Zoh or LmuDiscretizer.Euler))
        {
            throw new ArgumentOutOfRangeException(nameof(method), method, Format($"method must be Zoh or Euler but was {(int)method}."));
        }
    }

    /// <summary>Rejects a relative delay outside [0, 1] (NaN included): the Legendre basis only spans the window.</summary>
    internal static void Delay(double r)
    {
        if (!(r >= 0 && r <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(r), r, Format($"r must lie in [0, 1] but was {r:R}."));
        }
    }

    /// <summary>Rejects a negative sequence length.</summary>
    internal static void Length(int length)
    {
        if (length < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, Format($"length must be at least 0 but was {length}."));
        }
    }

    private static string Format(FormattableString message) => message.ToString(CultureInfo.InvariantCulture);
}
