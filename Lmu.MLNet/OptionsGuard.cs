using System.Globalization;
using System.Diagnostics.CodeAnalysis;

namespace Lmu.MLNet;

/// <summary>
/// The one place that words an options class's validation failures, so every options type reports a bad setting the
/// same way: "{prefix}{option} {message}." or "{prefix}{option} = {value} {rule}.", with the option (after
/// <paramref name="parameterPrefix"/>) as the exception's parameter name. Each options class holds one instance with
/// its own prefix (e.g. "LmuFeaturizerOptions."), which keeps the texts the tests and users already rely on.
/// </summary>
/// <param name="messagePrefix">Text before the option's name in the message, e.g. "LmuForecastingOptions." or "LMU option ".</param>
/// <param name="parameterPrefix">Text before the option's name in the parameter name, e.g. "Training." for a nested options object.</param>
internal sealed class OptionsGuard(string messagePrefix, string parameterPrefix = "")
{
    /// <summary>Throws <see cref="ArgumentException"/> "{prefix}{option} {message}." unless <paramref name="ok"/>.</summary>
    public void Require([DoesNotReturnIf(false)] bool ok, string option, string message)
    {
        if (!ok)
        {
            throw new ArgumentException($"{messagePrefix}{option} {message}.", parameterPrefix + option);
        }
    }

    /// <summary>Throws <see cref="ArgumentException"/> "{prefix}{option} = {value} {rule}." unless <paramref name="ok"/>; a null value reads "null".</summary>
    public void Require([DoesNotReturnIf(false)] bool ok, string option, object? value, string rule)
    {
        if (!ok)
        {
            // Invariant: "Theta = 10,5" under de-DE and a right-to-left mark under ar-SA read as other numbers (found by QA).
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"{messagePrefix}{option} = {value ?? "null"} {rule}."), parameterPrefix + option);
        }
    }

    /// <summary>Throws <see cref="ArgumentNullException"/> "{prefix}{option} must not be null." when <paramref name="value"/> is null.</summary>
    public void NotNull([NotNull] object? value, string option)
    {
        if (value is null)
        {
            throw new ArgumentNullException(parameterPrefix + option, $"{messagePrefix}{option} must not be null.");
        }
    }
}
