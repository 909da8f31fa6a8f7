namespace Lmu.MLNet.Samples.Cli;

/// <summary>
/// How classify and forecast read their files: whole, each line kept as text while the values are parsed, which takes
/// several times the file's size (measured on 60 MB files: about 4.4 times for classify and 9.2 for forecast, against
/// 9.2 and 16 when every field was kept as a string; large-data QA had found 12 and 40 on its files, and a 1.3-1.5 GB
/// file ended in a bare "OutOfMemoryException: Exception of type 'System.OutOfMemoryException' was thrown" after
/// 48-97 s of silence). A large file is announced before the read, and running out of memory while reading names the
/// file, its size and the way round it.
/// </summary>
internal static class InputFileMemory
{
    /// <summary>Files from this size on are announced before they are read.</summary>
    public const long AnnouncedBytes = 64L << 20;

    /// <summary>Runs <paramref name="read"/> on <paramref name="path"/>, announcing a large file and naming it if memory runs out.</summary>
    /// <exception cref="InsufficientMemoryException">The file did not fit in memory as read.</exception>
    public static T Read<T>(string path, string command, int timesTheFile, Func<T> read)
    {
        var bytes = File.Exists(path) ? new FileInfo(path).Length : 0;
        var megabytes = bytes / (1 << 20);
        if (bytes >= AnnouncedBytes)
        {
            Console.WriteLine($"reading '{path}' ({megabytes:N0} MB; {command} holds up to about {timesTheFile} times that in memory while it reads, files of few short columns the most, and more while it trains) ...");
        }

        try
        {
            return read();
        }
        catch (OutOfMemoryException e) when (e is not InsufficientMemoryException)
        {
            throw new InsufficientMemoryException(
                $"'{path}' ({megabytes:N0} MB) does not fit in this process's memory as {command} reads it: its lines are held as text while the values " +
                $"are parsed, about {timesTheFile} times the file's size in all. Split the file, or train through the library, whose trainers stream an IDataView " +
                "from disk (README, \"Data larger than memory\").",
                e);
        }
    }
}
