namespace Lmu.MLNet;

/// <summary>
/// Writes a file so that its readers find the old contents or the new ones, never a part: the bytes go to a temp file
/// beside the target (<c>target{marker}{guid}</c>, or a short name for a long target, same folder, so the move is a rename), flushed to disk, then moved
/// over the target. A write that fails (a full disk, a writer that throws) leaves the target as it was and removes its
/// temp file; one that is killed leaves the temp file, which a later write to the same target removes
/// (<see cref="RemoveStaleTemps"/>). A folder, pipe, device or socket is refused, a replaced file keeps its mode (and its
/// owner, when root writes it).
/// </summary>
internal static class AtomicFile
{
    /// <summary>The marker of this library's temp files when the caller names none.</summary>
    public const string DefaultMarker = ".lmu-tmp-";

    /// <summary>Writes what <paramref name="write"/> puts in the stream to <paramref name="path"/>, atomically.</summary>
    public static void Write(string path, Action<Stream> write, string marker = DefaultMarker)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        // A link is written through, as File.Create would (QA: the move replaced cur.zip -> models/v4.zip with a plain
        // file and left v4 as it was), and an existing file keeps its permissions (QA: a 0600 model came back 0644).
        var target = new FileInfo(path) is { LinkTarget: not null } link && link.ResolveLinkTarget(returnFinalTarget: true) is { } final ? final.FullName : path;
        RefuseNonFile(path, target);
        var started = DateTime.UtcNow;
        var temp = TempName(target, marker);
        try
        {
            using (var stream = Create(path, temp))
            {
                write(stream);
                // On disk before the move: otherwise a power cut after the rename could leave an empty target.
                stream.Flush(flushToDisk: true);
            }

            if (!OperatingSystem.IsWindows() && File.Exists(target))
            {
                File.SetUnixFileMode(temp, File.GetUnixFileMode(target));
                KeepOwner(temp, target);
            }

            File.Move(temp, target, overwrite: true);
            RemoveStaleTemps(target, marker, started);
        }
        catch (IOException e) when (e.GetType() == typeof(IOException) && e.Message.Contains(temp, StringComparison.Ordinal))
        {
            // A full disk while writing named the temp file, which is gone by the time the caller reads it (found by QA).
            throw new IOException($"Could not write '{path}': {Named(e.Message, path, temp)}", e);
        }
        finally
        {
            try
            {
                File.Delete(temp);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The write's own error (if any) is the one to report; a temp file left here is named as ours.
            }
        }
    }

    /// <summary>
    /// A folder, named pipe, device or socket is refused: the rename would replace the node with a file (files QA: all
    /// five writers did, and through a link the node behind it), and a folder failed in .NET's words ("Is a directory").
    /// </summary>
    private static void RefuseNonFile(string path, string target)
    {
        var kind = FileKind.Of(target);
        if (kind == FileKind.Folder || Directory.Exists(target))
        {
            throw new IOException($"Could not write '{path}': it is a folder; give a file's path.");
        }

        if (kind is not (FileKind.Regular or FileKind.Missing or FileKind.Unknown))
        {
            throw new IOException(
                $"Could not write '{path}': {(target == path ? "it" : $"its link target '{target}'")} is {kind}, not a file, and this write replaces the file it names " +
                "with a new one (the node would become a file); give the path of a file.");
        }
    }

    /// <summary>
    /// A file replaced by root keeps its owner: QA's root CheckPoint of another user's 0600 state left it root's, and that
    /// user's next load failed with UnauthorizedAccessException. Only root can give a file away; others own what they write.
    /// </summary>
    private static void KeepOwner(string temp, string target)
    {
        if (FileKind.IsRoot && FileKind.Owner(target) is { } owner && FileKind.Owner(temp) != owner)
        {
            _ = FileKind.TryChown(temp, owner);
        }
    }

    /// <summary>How long a temp file stays untouched before a sweep may take it: a writer that has closed its temp
    /// file but not yet moved it is left alone.</summary>
    private static readonly TimeSpan SweepGrace = TimeSpan.FromSeconds(30);

    private const int GuidHexLength = 32;

    /// <summary>The least time between two sweeps of one folder whose last sweep was slow (see <see cref="SlowSweep"/>).</summary>
    private static readonly TimeSpan SweepEvery = TimeSpan.FromMinutes(1);

    /// <summary>A sweep this long reads a large folder: the next ones of that folder wait <see cref="SweepEvery"/>.</summary>
    private static readonly TimeSpan SlowSweep = TimeSpan.FromMilliseconds(5);

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, (DateTime At, TimeSpan Took)> LastSweep = new(StringComparer.Ordinal);

    // A sweep reads the whole folder: per-series checkpoints kept in one folder of 50,000 files took 49 ms a write for it,
    // against 0.6 ms (review). A folder whose last sweep was slow is swept at most once a minute; others at every write.
    private static bool DueForSweep(string directory) =>
        !LastSweep.TryGetValue(directory, out var last) || last.Took < SlowSweep || DateTime.UtcNow - last.At >= SweepEvery;

    /// <summary>
    /// Removes temp files of writes to <paramref name="target"/> with <paramref name="marker"/> (and the short
    /// <c>.lmu-{guid}.tmp</c> ones in its folder) last written before <paramref name="olderThan"/> less a grace period,
    /// that no writer holds: a killed write leaves its temp file, a whole copy of the model, and only the engine's
    /// checkpoints swept theirs (files QA: 44 left by 60 killed LmuModelFile.Save calls, none removed later). A writer
    /// holds its temp file exclusively (FileShare.None, an advisory lock on Unix that holds across processes and
    /// containers), so a live write's file is never taken: deleting one made that writer fail (found by QA).
    /// </summary>
    internal static void RemoveStaleTemps(string target, string marker, DateTime olderThan)
    {
        var full = System.IO.Path.GetFullPath(target);
        var directory = System.IO.Path.GetDirectoryName(full);
        var prefix = System.IO.Path.GetFileName(full) + marker;
        if (directory is null || !FileLocks.Enabled || !Directory.Exists(directory) || !DueForSweep(directory))
        {
            return;
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            foreach (var file in Directory.EnumerateFiles(directory, ".lmu-*.tmp").Concat(Directory.EnumerateFiles(directory, prefix + "*")))
            {
                var name = System.IO.Path.GetFileName(file);
                var guid = name.StartsWith(prefix, StringComparison.Ordinal) ? name[prefix.Length..] : name[".lmu-".Length..^".tmp".Length];
                if (guid.Length != GuidHexLength || guid.AsSpan().ContainsAnyExcept("0123456789abcdef") || File.GetLastWriteTimeUtc(file) >= olderThan - SweepGrace)
                {
                    continue;
                }

                try
                {
                    using var probe = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Held by its writer, or not ours: left; the next sweep tries again.
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Tidying only: never fail a write over another run's leftovers.
        }

        LastSweep[directory] = (DateTime.UtcNow, clock.Elapsed);
    }

    /// <summary>
    /// <c>target{marker}{guid}</c>, or <c>.lmu-{guid}.tmp</c> in the same folder when that name would pass the file
    /// system's 255-byte limit on a name: valid targets of 215 bytes or more were refused as "too long", naming the temp
    /// file (found by QA; at about 72 characters of a CJK name). Leftovers of both forms are swept (RemoveStaleTemps).
    /// </summary>
    internal static string TempName(string path, string marker)
    {
        var guid = Guid.NewGuid().ToString("N");
        var name = System.IO.Path.GetFileName(path);
        if (System.Text.Encoding.UTF8.GetByteCount(name) + marker.Length + guid.Length <= 255)
        {
            return path + marker + guid;
        }

        var folder = System.IO.Path.GetDirectoryName(path);
        return System.IO.Path.Combine(string.IsNullOrEmpty(folder) ? "." : folder, $".lmu-{guid}.tmp");
    }

    /// <summary>
    /// The temp file, or an error naming the target: a missing folder or a read-only one was reported with the temp
    /// file's generated name, which the caller never chose (found by QA).
    /// </summary>
    private static FileStream Create(string path, string temp)
    {
        try
        {
            return new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        }
        catch (Exception e) when (e is DirectoryNotFoundException or UnauthorizedAccessException || e.GetType() == typeof(IOException))
        {
            // Same exception types as before, so callers' handlers still match; other IOException subclasses (a path too
            // long with the temp suffix, say) pass unchanged.
            // The folder the temp file goes to: the link's target's, when the path is a link (regression QA: it named the
            // link's folder).
            var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(temp));
            throw e switch
            {
                DirectoryNotFoundException => new DirectoryNotFoundException($"Could not write '{path}': the folder '{folder}' does not exist.", e),
                UnauthorizedAccessException => new UnauthorizedAccessException($"Could not write '{path}': access to the folder '{folder}' is denied.", e),
                _ => new IOException($"Could not write '{path}': {Named(e.Message, path, temp)}", e),
            };
        }
    }

    /// <summary>The message with the temp file's name replaced by the target's.</summary>
    private static string Named(string message, string path, string temp) =>
        message.Replace(System.IO.Path.GetFullPath(temp), System.IO.Path.GetFullPath(path), StringComparison.Ordinal).Replace(temp, path, StringComparison.Ordinal);
}
