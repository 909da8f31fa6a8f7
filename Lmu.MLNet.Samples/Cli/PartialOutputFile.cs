namespace Lmu.MLNet.Samples.Cli;

/// <summary>
/// An output file written all or nothing: the text goes to a temporary file beside it, moved into place only when the
/// writer returns, so a bad input line leaves no output and no partial file (found by QA: <c>forecast-stream</c> left
/// the lines before a bad one). Errors name the output, not the temporary name.
/// </summary>
internal static class PartialOutputFile
{
    /// <summary>Runs <paramref name="write"/> on a writer of the temporary file, then moves it to <paramref name="path"/>; returns what it returns.</summary>
    public static T Write<T>(string path, Func<TextWriter, T> write)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"Could not write '{path}': the folder '{folder}' does not exist.");
        }

        var partial = Path.Combine(folder, $".{Path.GetFileName(full)}.{Environment.ProcessId}.partial");
        try
        {
            T result;
            using (var writer = new StreamWriter(partial))
            {
                result = write(writer);
            }

            File.Move(partial, full, overwrite: true);
            return result;
        }
        finally
        {
            File.Delete(partial);
        }
    }
}
