namespace Lmu.MLNet;

/// <summary>
/// Writes a file so that its readers find the old contents or the new ones, never a part: the bytes go to a temp file
/// beside the target (<c>target{marker}{guid}</c>, or a short name for a long target, same folder, so the move is a rename), flushed to disk, then moved
/// over the target. A write that fails (a full disk, a writer that throws) leaves the target as it was and removes its
/// temp file; one that is killed leaves the temp file (its owner's next write or load may remove those).
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
            }

            File.Move(temp, target, overwrite: true);
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
    /// <c>target{marker}{guid}</c>, or <c>.lmu-{guid}.tmp</c> in the same folder when that name would pass the file
    /// system's 255-byte limit on a name: valid targets of 215 bytes or more were refused as "too long", naming the temp
    /// file (found by QA; at about 72 characters of a CJK name). Leftovers of the short form are not among those a
    /// checkpoint's next write removes.
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
