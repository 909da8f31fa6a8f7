namespace Lmu.MLNet.Samples.Cli;

/// <summary>
/// What the app says when memory runs out outside the file reader (which names the file itself, see
/// <see cref="InputFileMemory"/>). It said "OutOfMemoryException: Exception of type 'System.OutOfMemoryException' was
/// thrown", which reads like a bug: 3,000 rows of 1,000 values under a 48 MB heap ran out while the fold's padded copy
/// was made, after the reader had fitted.
/// </summary>
internal static class OutOfMemoryAdvice
{
    /// <summary>The one-line message for <paramref name="command"/> (a command name such as "classify").</summary>
    public static string Message(string command)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(command);
        // Only classify pads: one long row makes every row as long (the ToDataView copy of the longest row's width).
        var held = command == "classify"
            ? "it holds the whole data set in memory, every row padded to the longest row's length"
            : "it holds the whole data set in memory";
        return $"out of memory: {command} needs more memory than this process may use (a heap limit such as DOTNET_GCHeapHardLimit, " +
               $"a container's limit, or the machine's own memory); {held}. Use a smaller or split file, or train through the " +
               "library, whose trainers stream an IDataView from disk (README, \"Data larger than memory\")";
    }
}
