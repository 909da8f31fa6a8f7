namespace Lmu.MLNet.Samples.Cli;

/// <summary>
/// An output file written all or nothing: the text goes to a temporary file beside it, moved into place only when the
/// writer returns, so a bad input line leaves no output and no partial file (found by QA: <c>forecast-stream</c> left
/// the lines before a bad one). Errors name the output, not the temporary name.
/// </summary>
internal static class PartialOutputFile
{
    /// <summary>Runs <paramref name="write"/> on a writer of the temporary file, then moves it to <paramref name="path"/>; returns what it returns.</summary>
    /// <param name="alsoNotWritten">What else an interrupted run leaves unwritten, for the interrupt message (see <see cref="InterruptCleanup"/>).</param>
    public static T Write<T>(string path, Func<TextWriter, T> write, string alsoNotWritten = "")
    {
        if (Directory.Exists(path))
        {
            // .NET's own words were "Is a directory : '...'" (found by QA).
            throw new IOException($"Could not write '{path}': it is a folder; give the output file's path.");
        }

        if (StandardOutputTarget.Is(path))
        {
            using var standardOutput = StandardOutputTarget.Open();
            return write(standardOutput);
        }

        if (!IsPlainTarget(path))
        {
            // A link, a FIFO, /dev/stdout: written through as given (a rename would replace the link or the device
            // with a file, and a reader waiting on the FIFO would never see a line; found by review).
            // Each line flushed: a reader of a FIFO sees each forecast as its reading arrives (QA: all came at the end).
            using var direct = new LineFlushingWriter(new StreamWriter(path));
            return write(direct);
        }

        // Where the operating system puts the path, links before a ".." followed (regression QA: d/../m.zip, d a linked
        // folder, was written beside the command while SameFile, which resolves it so, had compared it elsewhere).
        var full = PhysicalPath.Resolve(path);
        var folder = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"Could not write '{path}': the folder '{folder}' does not exist.");
        }

        var partial = PartialName(folder, Path.GetFileName(full), string.Empty);
        RemoveKilledRuns(folder, Path.GetFileName(full), string.Empty);
        using var cleanup = new InterruptCleanup(partial, path, alsoNotWritten);
        try
        {
            T result;
            using (var writer = Open(partial, path, folder))
            {
                result = write(writer);
            }

            KeepMode(partial, full);
            cleanup.Commit(() => File.Move(partial, full, overwrite: true));
            return result;
        }
        finally
        {
            File.Delete(partial);
        }
    }

    /// <summary>
    /// Refuses, before any work, an output file that could not be written at the end: a folder, or a file in a folder that
    /// does not exist or cannot be written. QA: forecast-stream streamed 400,000 readings for 27 s, wrote its --output, and
    /// only then failed on --checkpoint's missing folder (exit 2, the output left in place). Devices, links and standard
    /// output are left to the write itself.
    /// </summary>
    public static void CheckWritable(string path, string option)
    {
        if (Directory.Exists(path))
        {
            throw new IOException($"{option} '{path}' is a folder; give the file's path.");
        }

        if (StandardOutputTarget.Is(path) || !IsPlainTarget(path))
        {
            return;
        }

        var folder = Path.GetDirectoryName(PhysicalPath.Resolve(path))!;
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"Could not write {option} '{path}': the folder '{folder}' does not exist.");
        }

        var probe = Path.Combine(folder, $".lmu-write-probe-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UnauthorizedAccessException($"Could not write {option} '{path}': the folder '{folder}' cannot be written ({e.GetType().Name}).", e);
        }
    }

    /// <summary>The file being replaced keeps its permissions (QA: a 0600 scores file came back 0644 after the move).</summary>
    private static void KeepMode(string partial, string full)
    {
        if (!OperatingSystem.IsWindows() && File.Exists(full))
        {
            File.SetUnixFileMode(partial, File.GetUnixFileMode(full));
        }
    }

    /// <summary>
    /// A file some other writer makes from a path (a PNG, an ML.NET zip), all or nothing: <paramref name="writeTo"/> gets a
    /// temporary path beside <paramref name="path"/> (same extension), moved over it when the writer returns. The plots and
    /// model zips were written in place, so a full disk left a cut-off PNG or zip, over a good one from an earlier run
    /// (found by QA).
    /// </summary>
    public static void WriteFile(string path, Action<string> writeTo)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        var partial = PartialName(folder, Path.GetFileNameWithoutExtension(full), Path.GetExtension(full));
        RemoveKilledRuns(folder, Path.GetFileNameWithoutExtension(full), Path.GetExtension(full));
        using var cleanup = new InterruptCleanup(partial, path, string.Empty);
        try
        {
            writeTo(partial);
            KeepMode(partial, full);
            cleanup.Commit(() => File.Move(partial, full, overwrite: true));
        }
        catch (IOException e) when (e.GetType() == typeof(IOException) && e.Message.Contains(partial, StringComparison.Ordinal))
        {
            throw new IOException($"Could not write '{path}': {e.Message.Replace(partial, full, StringComparison.Ordinal)}", e);
        }
        finally
        {
            File.Delete(partial);
        }
    }

    /// <summary>
    /// <c>.{name}.{pid}.partial{extension}</c> beside the output, or a short <c>.lmu-{pid}-{random}.partial</c> when that
    /// would pass the file system's 255-byte limit on a name (found by QA: outputs named with 241 characters or more
    /// failed as "too long", naming the temporary file).
    /// </summary>
    internal static string PartialName(string folder, string name, string extension)
    {
        var full = $".{name}.{Environment.ProcessId}.partial{extension}";
        return Path.Combine(folder, System.Text.Encoding.UTF8.GetByteCount(full) <= 255
            ? full
            : $".lmu-{Environment.ProcessId}-{Guid.NewGuid():N}.partial{(extension.Length <= 16 ? extension : string.Empty)}");
    }

    /// <summary>
    /// Removes <c>.{name}.{pid}.partial{extension}</c> files of this output whose process no longer runs: a run killed
    /// with SIGKILL (or a power cut) runs no cleanup, and its partial file stayed beside the output for good (fleet QA:
    /// 30 MB after a kill -9 of forecast-stream, still there after a later run). A process still running keeps its file
    /// (a pid taken again by another process keeps it too: the safe side). The short names of very long outputs carry
    /// no output name, so they are not matched.
    /// </summary>
    internal static void RemoveKilledRuns(string folder, string name, string extension)
    {
        var prefix = $".{name}.";
        var suffix = $".partial{extension}";
        try
        {
            foreach (var file in Directory.EnumerateFiles(folder, $"{prefix}*{suffix}"))
            {
                var middle = Path.GetFileName(file)[prefix.Length..^suffix.Length];
                if (int.TryParse(middle, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var pid) && pid != Environment.ProcessId && !ProcessLiveness.Running(pid))
                {
                    File.Delete(file);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Tidying only: the write itself reports a folder it cannot use.
        }
    }

    // The temporary file's writer; a folder that cannot be written is named as the output's (QA: the error named
    // '.s.csv.6351.partial', a file the user never asked for).
    private static StreamWriter Open(string partial, string path, string folder)
    {
        try
        {
            return new StreamWriter(partial);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new UnauthorizedAccessException($"Could not write '{path}': access to the folder '{folder}' is denied.", e);
        }
        catch (IOException e) when (e.GetType() == typeof(IOException) && e.Message.Contains(partial, StringComparison.Ordinal))
        {
            // A read-only file system, say.
            throw new IOException($"Could not write '{path}': {e.Message.Replace(partial, Path.GetFullPath(path), StringComparison.Ordinal)}", e);
        }
    }

    // Absent, or a file with contents that is not a link nor a device: the cases a temporary file beside it can be renamed
    // over. .NET reports no file type, and a FIFO reads as an empty file, so an existing empty file is written in place
    // too (a failure then leaves a part in what was empty).
    private static bool IsPlainTarget(string path)
    {
        var full = Path.GetFullPath(path);
        if (!OperatingSystem.IsWindows() && (full.StartsWith("/dev/", StringComparison.Ordinal) || full.StartsWith("/proc/", StringComparison.Ordinal)))
        {
            return false;
        }

        var info = new FileInfo(full);
        return !info.Exists || (info.LinkTarget is null && (info.Attributes & FileAttributes.ReparsePoint) == 0 && info.Length > 0);
    }
}
