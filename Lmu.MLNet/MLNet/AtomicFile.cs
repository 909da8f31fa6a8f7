namespace Lmu.MLNet;

/// <summary>
/// Writes a file so that its readers find the old contents or the new ones, never a part: the bytes go to a temp file
/// beside the target (<c>target{marker}{guid}</c>, same folder, so the move is a rename), flushed to disk, then moved
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
        var temp = path + marker + Guid.NewGuid().ToString("N");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                // On disk before the move: otherwise a power cut after the rename could leave an empty target.
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
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
}
