using System.Runtime.InteropServices;

namespace Lmu.MLNet.Samples.Cli;

/// <summary>
/// The MLContext's temp folder of one run of a command that loads or writes a model (classify, forecast, predict,
/// forecast-stream, serve): a folder of its own under the system's temp folder, removed with everything in it when the
/// run ends, is interrupted (Ctrl-C, SIGTERM, SIGHUP), or, after a SIGKILL, by the next such run once the killed process
/// no longer runs. A service's sessions hold their graphs in memory once loaded, so removing the folder while it stops
/// changes nothing it answers (serve QA). The carried ONNX graphs that ML.NET's OnnxTransformer and ONNX Runtime
/// keep as files were left in $TMPDIR by every interrupted run, as large as the model (large-data QA: 72 MB each for a
/// 17M-parameter model).
/// </summary>
internal sealed class RunTempFolder : IDisposable
{
    private const string Prefix = "lmu-run-";

    /// <summary>
    /// The file a run holds locked (an advisory flock, which .NET takes for FileShare.None on Unix) for its whole life: a
    /// folder whose lock can be taken belongs to no running process, whatever its process id says. The id alone was read
    /// in this process's PID namespace, so a run in another container sharing /tmp looked dead and lost its folder mid-run
    /// (review: a live folder of a process in another namespace was removed by a serve that failed at once).
    /// </summary>
    internal const string LockName = ".lock";

    private readonly PosixSignalRegistration[] _signals;
    private readonly FileStream _lock;

    public RunTempFolder()
        : this(Path.GetTempPath())
    {
    }

    /// <summary>A run folder under <paramref name="parent"/> (the system's temp folder; tests give another).</summary>
    /// <exception cref="IOException">The folder cannot be made there; the message names it and TMPDIR.</exception>
    internal RunTempFolder(string parent)
    {
        RemoveAbandoned(parent);
        Folder = Path.Combine(parent, $"{Prefix}{Environment.ProcessId}-{Guid.NewGuid():N}");
        // Made under a name the sweep does not read and locked there, then moved to its name: a sweep never sees a run
        // folder without its lock.
        var staging = Path.Combine(parent, $".lmu-staging-{Guid.NewGuid():N}");
        FileStream? held = null;
        try
        {
            Directory.CreateDirectory(staging);
            held = new FileStream(Path.Combine(staging, LockName), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
            Directory.Move(staging, Folder);
            _lock = held;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            held?.Dispose();
            try
            {
                if (Directory.Exists(staging))
                {
                    Directory.Delete(staging, recursive: true);
                }
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
                // What could not be made can rarely be removed; nothing else to do.
            }

            // Regression QA: an unwritable TMPDIR said "Access to the path '.../lmu-run-...' is denied", naming neither.
            throw new IOException($"The temp folder '{parent}' (TMPDIR) cannot be written, and the run keeps the model's graph files there: {e.Message} Set TMPDIR to a writable folder.", e);
        }

        // Registered after StagedOutput's: its handler prints the "interrupted" line; this one only tidies.
        // SIGHUP too: a closed terminal or ssh session ended the process with its copies left (serve QA).
        _signals = [.. new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP }.Select(s => PosixSignalRegistration.Create(s, _ => Remove()))];
    }

    /// <summary>The folder (set it as <c>MLContext.TempFilePath</c>).</summary>
    public string Folder { get; }

    public void Dispose()
    {
        foreach (var signal in _signals)
        {
            signal.Dispose();
        }

        Remove();
        _lock.Dispose();
    }

    /// <summary>
    /// Removes run folders under <paramref name="parent"/> whose run has ended (a SIGKILL runs no cleanup): those whose
    /// lock can be taken, and those of earlier versions (no lock file) whose process id no longer runs here.
    /// </summary>
    internal static void RemoveAbandoned(string parent)
    {
        IEnumerable<string> folders;
        try
        {
            folders = Directory.EnumerateDirectories(parent, $"{Prefix}*").ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }

        foreach (var folder in folders)
        {
            var lockPath = Path.Combine(folder, LockName);
            if (File.Exists(lockPath) && !FileLocks.Enabled)
            {
                // With the runtime's file locking off every lock reads as free (review): left be.
                continue;
            }

            if (File.Exists(lockPath))
            {
                FileStream held;
                try
                {
                    held = new FileStream(lockPath, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Locked: its run goes on, in this namespace or another (or the lock is not ours to take).
                    continue;
                }

                using (held)
                {
                    Delete(folder);
                }

                continue;
            }

            var name = Path.GetFileName(folder);
            var dash = name.IndexOf('-', Prefix.Length);
            if (dash > Prefix.Length && int.TryParse(name[Prefix.Length..dash], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var pid)
                && pid != Environment.ProcessId && !ProcessLiveness.Running(pid))
            {
                Delete(folder);
            }
        }
    }

    private static void Delete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Tidying only: another run may be removing it at the same moment; the others are still swept.
        }
    }

    private void Remove()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Already gone, or a file still being written on the way out: nothing more can be done.
        }
    }
}
