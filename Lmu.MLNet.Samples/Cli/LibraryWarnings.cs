using System.Collections.Concurrent;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace Lmu.MLNet.Samples.Cli;

/// <summary>
/// The library's warnings on the console: they go to the MLContext's Log, which the commands did not read, so a
/// warning such as "values up to 1e30: standardise the features" never reached a command-line user, whose run then
/// trained to chance without a word (large-data QA). Each warning is printed once, however its measured numbers vary
/// (cross-validation fits every fold, whose largest value differs).
/// </summary>
internal static partial class LibraryWarnings
{
    /// <summary>Prints the warnings of this library's components logged through <paramref name="ml"/> from now on.</summary>
    public static void Show(MLContext ml)
    {
        var seen = new ConcurrentDictionary<string, byte>(StringComparer.Ordinal);
        ml.Log += (_, e) =>
        {
            if (e.Kind == ChannelMessageKind.Warning && IsOurs(e.Source) && seen.TryAdd(Numbers().Replace(e.RawMessage, "#"), 0))
            {
                Console.WriteLine($"warning: {e.RawMessage}");
            }
        };
    }

    // Measured values only (a decimal point, an exponent, or four digits and more): a layer's or fold's small index
    // keeps its warning apart (review: "layer 0" and "layer 1" were merged).
    [System.Text.RegularExpressions.GeneratedRegex(@"[0-9]+([.,][0-9]+)+(E[+-]?[0-9]+)?|[0-9]+E[+-]?[0-9]+|[0-9]{4,}")]
    private static partial System.Text.RegularExpressions.Regex Numbers();

    private static bool IsOurs(string source) =>
        source.StartsWith("Lmu", StringComparison.Ordinal) || source.StartsWith("Ridge", StringComparison.Ordinal) || source.StartsWith("Experiment", StringComparison.Ordinal);
}
