namespace Lmu.MLNet.Samples.Cli;

/// <summary>
/// What the app says when memory runs out outside the file reader (which names the file itself, see
/// <see cref="InputFileMemory"/>). It said "OutOfMemoryException: Exception of type 'System.OutOfMemoryException' was
/// thrown", which reads like a bug: 3,000 rows of 1,000 values under a 48 MB heap ran out while the fold's padded copy
/// was made, after the reader had fitted.
/// </summary>
internal static class OutOfMemoryAdvice
{
    /// <summary>The one-line message for <paramref name="command"/> (a command name such as "classify") and the exception's own message.</summary>
    public static string Message(string command, string exceptionMessage)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(command);
        // .NET's array size limit is an OutOfMemoryException too, but no memory ran out: an option asked for an array
        // past 2^31 elements (review: bike-sharing --order 70000 was told to split its file, with 22 GB free).
        if (exceptionMessage.Contains("Array dimensions exceeded supported range", StringComparison.Ordinal))
        {
            return $"{command} asked for an array larger than .NET allows (Array dimensions exceeded supported range: more than about 2 billion elements), " +
                   "whatever the memory: an option or the data's size makes one too large (an order, a window, a number of rows x steps); use smaller values";
        }

        var limits = $"out of memory: {command} needs more memory than this process may use (a heap limit such as DOTNET_GCHeapHardLimit, a container's limit, or the machine's own memory)";
        // Only the commands that read a file whole to train give the file advice; classify also pads every row.
        return command switch
        {
            "classify" => limits + "; it holds the whole data set in memory, every row padded to the longest row's length. Use a smaller or split file, " +
                          "or train through the library, whose trainers stream an IDataView from disk (README, \"Data larger than memory\")",
            "forecast" => limits + "; it holds the whole data set in memory. Use a smaller or split file, or train through the library, whose trainers stream " +
                          "an IDataView from disk (README, \"Data larger than memory\")",
            _ => limits + ". Give it more memory, or smaller settings",
        };
    }
}
