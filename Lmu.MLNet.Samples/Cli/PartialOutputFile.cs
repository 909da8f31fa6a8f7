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

        // Where the operating system puts the path, links followed to the file they name (files QA: a link to a file was
        // written in place, so a full disk left part of the new output in the old one's place; a rename onto the link
        // replaced the link). A stream (/dev/stdout, /dev/fd/N, a FIFO) is judged as given: resolving /proc/self/fd's
        // links made up a path to nowhere, and a descriptor redirected to a file had the file renamed over (review).
        var full = PhysicalPath.Resolve(path);
        if (IsStream(path) || !IsPlainTarget(full))
        {
            // A FIFO, a device, /dev/stdout: written through as given (a rename would replace the device with a file,
            // and a reader waiting on the FIFO would never see a line; found by review).
            // Each line flushed: a reader of a FIFO sees each forecast as its reading arrives (QA: all came at the end).
            using var direct = new LineFlushingWriter(new StreamWriter(path));
            return write(direct);
        }

        var folder = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"Could not write '{path}': the folder '{folder}' does not exist.");
        }

        using var partial = Open(folder, Path.GetFileName(full), string.Empty, path);
        using var cleanup = new InterruptCleanup(partial.Path, path, alsoNotWritten);
        try
        {
            T result;
            using (var writer = OpenWriter(partial.Path, path, folder))
            {
                result = write(writer);
            }

            KeepModeAndOwner(partial.Path, full);
            cleanup.Commit(() => File.Move(partial.Path, full, overwrite: true));
            return result;
        }
        catch (IOException e) when (e.GetType() == typeof(IOException) && e.Message.Contains(partial.Path, StringComparison.Ordinal))
        {
            // A full disk while writing named the hidden partial file (files QA), gone by the time the user reads it.
            throw new IOException($"Could not write '{path}': {e.Message.Replace(partial.Path, full, StringComparison.Ordinal)}", e);
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

        if (StandardOutputTarget.Is(path) || IsStream(path) || !IsPlainTarget(PhysicalPath.Resolve(path)))
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
            // The cause in the system's words (files QA: a read-only file system read "cannot be written (IOException)").
            throw new UnauthorizedAccessException($"Could not write {option} '{path}': the folder '{folder}' cannot be written ({e.Message.Replace(probe, folder, StringComparison.Ordinal)}).", e);
        }
    }

    /// <summary>
    /// The file being replaced keeps its permissions (QA: a 0600 scores file came back 0644 after the move), and, when
    /// root replaces it, its owner (files QA: another user's file became root's).
    /// </summary>
    internal static void KeepModeAndOwner(string partial, string full)
    {
        if (!OperatingSystem.IsWindows() && File.Exists(full))
        {
            File.SetUnixFileMode(partial, File.GetUnixFileMode(full));
            if (FileKind.IsRoot && FileKind.Owner(full) is { } owner)
            {
                _ = FileKind.TryChown(partial, owner);
            }
        }
    }

    /// <summary>
    /// A file some other writer makes from a path (a PNG, an ML.NET zip, a checkpoint), all or nothing:
    /// <paramref name="writeTo"/> gets a temporary path beside <paramref name="path"/> (beside the file a link names; same
    /// extension), moved over it when the writer returns. The plots and model zips were written in place, so a full disk
    /// left a cut-off PNG or zip, over a good one from an earlier run (found by QA).
    /// </summary>
    /// <param name="path">The output file.</param>
    /// <param name="writeTo">Writes the whole file at the path it is given.</param>
    /// <param name="streamable">True for text a reader may take from a stream (bench's JSON): a stream given as the path
    /// (/dev/stdout, /dev/fd/N, a FIFO) is written directly, not refused.</param>
    /// <exception cref="IOException">The path is a folder, or (unless <paramref name="streamable"/>) a stream, named pipe,
    /// device or socket (the move would replace it with a file; files QA).</exception>
    public static void WriteFile(string path, Action<string> writeTo, bool streamable = false)
    {
        if (streamable && IsStream(path))
        {
            // Review: bench --json /dev/stdout into a pipe failed after the whole bench, and into a redirected file
            // replaced the file the shell had open.
            writeTo(path);
            return;
        }

        var full = TargetFile(path, "Could not write");
        var folder = Path.GetDirectoryName(full)!;
        using var partial = Open(folder, Path.GetFileNameWithoutExtension(full), Path.GetExtension(full), path);
        using var cleanup = new InterruptCleanup(partial.Path, path, string.Empty);
        try
        {
            writeTo(partial.Path);
            KeepModeAndOwner(partial.Path, full);
            cleanup.Commit(() => File.Move(partial.Path, full, overwrite: true));
        }
        catch (IOException e) when (e.GetType() == typeof(IOException) && e.Message.Contains(partial.Path, StringComparison.Ordinal))
        {
            throw new IOException($"Could not write '{path}': {e.Message.Replace(partial.Path, full, StringComparison.Ordinal)}", e);
        }
    }

    /// <summary>
    /// The file <paramref name="path"/> names, links followed (a link to a file is written through, as README says);
    /// a folder, named pipe, device or socket is refused (<paramref name="what"/> starts the message), since the file
    /// written is moved over it.
    /// </summary>
    internal static string TargetFile(string path, string what)
    {
        if (IsStreamPath(path))
        {
            throw new IOException($"{what} '{path}': it is a stream (standard output, a descriptor or a device), and this file is written whole beside its target and moved over it; give a file's path.");
        }

        var full = PhysicalPath.Resolve(path);
        // Judged as given too (statx follows the links itself): a link into /proc resolves to a made-up path (review).
        var given = FileKind.Of(path);
        var kind = given is FileKind.Regular or FileKind.Missing or FileKind.Unknown ? FileKind.Of(full) : given;
        if (kind == FileKind.Folder || Directory.Exists(full))
        {
            throw new IOException($"{what} '{path}': it is a folder; give a file's path.");
        }

        if (kind is not (FileKind.Regular or FileKind.Missing or FileKind.Unknown))
        {
            throw new IOException($"{what} '{path}': {(full == Path.GetFullPath(path) ? "it" : $"its link target '{full}'")} is {kind}, not a file, and it would be replaced by one; give a file's path.");
        }

        return full;
    }

    /// <summary>A partial file beside the output; a folder that cannot be written is named as the output's.</summary>
    internal static PartialFile Open(string folder, string name, string extension, string path)
    {
        try
        {
            return PartialFile.Create(folder, name, extension);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new UnauthorizedAccessException($"Could not write '{path}': access to the folder '{folder}' is denied.", e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new DirectoryNotFoundException($"Could not write '{path}': the folder '{folder}' does not exist.", e);
        }
        catch (IOException e) when (e.GetType() == typeof(IOException))
        {
            // A read-only file system, a full disk: the system's words, the output's name.
            throw new IOException($"Could not write '{path}': {System.Text.RegularExpressions.Regex.Replace(e.Message, @"'[^']*\.lock'", $"'{Path.GetFullPath(path)}'")}", e);
        }
    }

    // The temporary file's writer; a folder that cannot be written is named as the output's (QA: the error named
    // '.s.csv.6351.partial', a file the user never asked for).
    private static StreamWriter OpenWriter(string partial, string path, string folder)
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

    /// <summary>
    /// Whether <paramref name="path"/>, as given, is a stream to write straight into: standard output, a path under
    /// /dev or /proc (a descriptor, a device), or a named pipe, socket or device anywhere.
    /// </summary>
    internal static bool IsStream(string path) =>
        StandardOutputTarget.Is(path) || IsStreamPath(path) || FileKind.Of(path) is not (FileKind.Regular or FileKind.Missing or FileKind.Unknown or FileKind.Folder);

    private static bool IsStreamPath(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return false;
        }

        var full = Path.GetFullPath(path);
        return full.StartsWith("/dev/", StringComparison.Ordinal) || full.StartsWith("/proc/", StringComparison.Ordinal);
    }

    // Absent, or a regular file (links already followed): the cases a temporary file beside it can be renamed over.
    // Where the file's kind cannot be read (not Linux), a file with contents that is not a link: .NET reports no file
    // type, and a FIFO reads as an empty file, so an existing empty file is written in place there.
    private static bool IsPlainTarget(string full)
    {
        if (!OperatingSystem.IsWindows() && (full.StartsWith("/dev/", StringComparison.Ordinal) || full.StartsWith("/proc/", StringComparison.Ordinal)))
        {
            return false;
        }

        var kind = FileKind.Of(full);
        if (kind != FileKind.Unknown)
        {
            return kind is FileKind.Regular or FileKind.Missing;
        }

        var info = new FileInfo(full);
        return !info.Exists || (info.LinkTarget is null && (info.Attributes & FileAttributes.ReparsePoint) == 0 && info.Length > 0);
    }
}
