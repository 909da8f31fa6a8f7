using System.Globalization;

namespace Lmu.MLNet.Samples.Cli;

/// <summary>
/// A temporary file beside an output (<c>.{name}.{pid}-{random}.partial{extension}</c>), which this process locks for as
/// long as it lives: a lock file beside it (<c>...partial{extension}.lock</c>) held with an advisory lock (.NET takes
/// one for FileShare.None on Unix). Why both the random part and the lock: the name was <c>.{name}.{pid}.partial</c>
/// and a run whose process id no longer ran was taken as killed, so two runs in containers (each its own pid 1) wrote
/// one partial file and committed a mix of both, and a run in another PID namespace deleted a live run's file as
/// abandoned (files QA). An advisory lock is the kernel's, whatever namespace holds it, and goes with the process.
/// </summary>
internal sealed class PartialFile : IDisposable
{
    /// <summary>What the lock file adds to the partial file's name.</summary>
    internal const string LockSuffix = ".lock";
    private readonly FileStream _lock;
    private readonly string _lockPath;

    private PartialFile(string path, string lockPath, FileStream held)
    {
        Path = path;
        _lockPath = lockPath;
        _lock = held;
    }

    /// <summary>The temporary file (not created: the writer makes it).</summary>
    public string Path { get; }

    /// <summary>
    /// A new partial file for <paramref name="name"/><paramref name="extension"/> in <paramref name="folder"/>, after
    /// removing those of runs that have ended. A name past the file system's 255-byte limit gets a short one
    /// (<c>.lmu-{pid}-{random}.partial</c>; found by QA: outputs of 241 characters or more failed as "too long").
    /// </summary>
    /// <exception cref="IOException">The lock file cannot be made (a read-only folder, say); the caller names the output.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder cannot be written.</exception>
    public static PartialFile Create(string folder, string name, string extension)
    {
        RemoveAbandoned(folder, name, extension);
        var token = $"{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-{Guid.NewGuid():N}";
        var full = $".{name}.{token}.partial{extension}";
        var file = System.Text.Encoding.UTF8.GetByteCount(full + LockSuffix) <= 255
            ? full
            : $".lmu-{token}.partial{(extension.Length <= 16 ? extension : string.Empty)}";
        var path = System.IO.Path.Combine(folder, file);
        var lockPath = path + LockSuffix;
        // The lock first: a sweep that finds the partial file finds its lock, held.
        var held = new FileStream(lockPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1);
        return new PartialFile(path, lockPath, held);
    }

    /// <summary>Removes the temporary file (when still there) and the lock.</summary>
    public void Dispose()
    {
        TryDelete(Path);
        _lock.Dispose();
        TryDelete(_lockPath);
    }

    /// <summary>
    /// Removes the partial files of <paramref name="name"/><paramref name="extension"/> whose run has ended: a SIGKILL
    /// (or a power cut) runs no cleanup, and a partial file stayed beside the output for good (fleet QA: 30 MB after a
    /// kill -9 of forecast-stream). Those with a lock file are removed when the lock can be taken; a partial file without
    /// its lock is a killed run's (the lock is made first and removed last); the <c>.{name}.{pid}.partial</c> files of
    /// earlier versions go when that process id no longer runs here. Lock files left alone (killed between the two
    /// removals) go too. The short names of very long outputs carry no output name, so they are not matched.
    /// </summary>
    internal static void RemoveAbandoned(string folder, string name, string extension)
    {
        var prefix = $".{name}.";
        var suffix = $".partial{extension}";
        try
        {
            foreach (var file in Directory.EnumerateFiles(folder, $"{prefix}*{suffix}").ToList())
            {
                var token = System.IO.Path.GetFileName(file)[prefix.Length..^suffix.Length];
                if (int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
                {
                    if (pid != Environment.ProcessId && !ProcessLiveness.Running(pid))
                    {
                        TryDelete(file);
                    }
                }
                else if (FileLocks.Enabled && IsToken(token) && Unheld(file + LockSuffix))
                {
                    RemoveWithItsFiles(file);
                }
            }

            foreach (var lockFile in Directory.EnumerateFiles(folder, $"{prefix}*{suffix}{LockSuffix}").ToList())
            {
                var partial = lockFile[..^LockSuffix.Length];
                if (FileLocks.Enabled && IsToken(System.IO.Path.GetFileName(partial)[prefix.Length..^suffix.Length]) && !File.Exists(partial) && Unheld(lockFile))
                {
                    RemoveWithItsFiles(partial);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Tidying only: the write itself reports a folder it cannot use.
        }
    }

    /// <summary>
    /// Removes an ended run's partial file, the temp files written beside it under its name (a checkpoint's
    /// <c>{partial}.tmp-{guid}</c>: review, a run killed while it checkpointed left one no sweep matched), and its lock,
    /// last.
    /// </summary>
    private static void RemoveWithItsFiles(string partial)
    {
        TryDelete(partial);
        var folder = System.IO.Path.GetDirectoryName(partial)!;
        foreach (var file in Directory.EnumerateFiles(folder, System.IO.Path.GetFileName(partial) + ".*").Where(f => !f.EndsWith(LockSuffix, StringComparison.Ordinal)).ToList())
        {
            TryDelete(file);
        }

        TryDelete(partial + LockSuffix);
    }

    // "{pid}-{32 hex digits}": a name this class makes.
    private static bool IsToken(string token) =>
        token.IndexOf('-') is var dash and > 0 && int.TryParse(token.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out _)
        && token.Length - dash - 1 == 32 && !token.AsSpan(dash + 1).ContainsAnyExcept("0123456789abcdef");

    // True when no process holds the lock (or there is none): taking it, briefly, is the test.
    private static bool Unheld(string lockFile)
    {
        if (!File.Exists(lockFile))
        {
            return true;
        }

        try
        {
            using var probe = new FileStream(lockFile, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Another run may be removing it at the same moment.
        }
    }
}
