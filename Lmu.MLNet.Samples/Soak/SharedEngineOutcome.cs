using System.Diagnostics;

namespace Lmu.MLNet.Samples.Soak;

/// <summary>
/// What one call on a PredictionEngine shared by threads may end in, besides a score: the library's overlap check
/// (an <see cref="InvalidOperationException"/> saying the engine was called from two threads at once), or ML.NET's own
/// row copying failing. The check guards the library's getters only: ML.NET copies each output into the caller's
/// object after the getter returns, through a buffer the engine keeps for every call, and copies the caller's object
/// into its input row before any getter runs. A second thread there fails inside ML.NET ("Destination is too short",
/// 4 of 40 soak runs on the 2-core VM with two busy processes), which the library cannot see or prevent. Anything else
/// (an exception from the library's code, a crash) is a failure.
/// </summary>
internal static class SharedEngineOutcome
{
    // ML.NET's types that copy a user's objects to and from an engine's rows (TypedCursorable's setters for the
    // output, DataViewConstructionUtils' InputRow for the input), matched by name since both are internal.
    private static readonly string[] MlNetRowCopiers = ["Microsoft.ML.Data.TypedCursorable`1", "Microsoft.ML.Data.DataViewConstructionUtils"];

    /// <summary>Whether <paramref name="e"/> is the library's refusal of an overlapping call.</summary>
    public static bool IsOverlapRefusal(Exception e) =>
        e is InvalidOperationException && e.Message.Contains("called from two threads at once", StringComparison.Ordinal);

    /// <summary>
    /// Whether <paramref name="e"/> was thrown by ML.NET's own row copying: its first frame outside the runtime's
    /// System namespaces is a method of (or a lambda nested in) one of ML.NET's row-copying types.
    /// </summary>
    public static bool IsMlNetRowCopyRace(Exception e)
    {
        var frame = new StackTrace(e, false).GetFrames().Select(f => f.GetMethod()?.DeclaringType)
            .FirstOrDefault(t => t is not null && !(t.FullName ?? string.Empty).StartsWith("System.", StringComparison.Ordinal));
        var name = frame?.FullName ?? string.Empty;
        return MlNetRowCopiers.Any(copier => name == copier || name.StartsWith(copier + "+", StringComparison.Ordinal));
    }
}
