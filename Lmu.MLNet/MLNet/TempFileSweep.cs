using System.Collections.Concurrent;
using System.Text.RegularExpressions;

namespace Lmu.MLNet;

/// <summary>
/// Removes what a FAILED <c>mlContext.Model.Load</c> leaves in MLContext.TempFilePath: ML.NET copies each carried ONNX
/// graph to a randomly named file, which stays when ONNX Runtime then rejects the graph. Only random-named files that
/// appeared during the load, hold a graph the zip carries (size and SHA-256) and that no model holds open are removed: a
/// load of the same zip beside it, outside this library's loads, can still lose its copy in the moment between writing
/// and opening it. The
/// carry's sweep (<see cref="Since"/>, after a full temp disk) also takes the <c>ml_dotnet_*</c> folders written since
/// the carry began (ML.NET's save and load left them half-written there), and the random-named copies of its own graph,
/// cut short or whole (their bytes begin the graph's): a save or load beside it in the same folder can lose its
/// extraction folder then, which on a full disk it was about to fail for anyway.
/// </summary>
/// <remarks>
/// Loads beside each other in one folder (found by QA: a failing load beside good ones deleted their extraction folders
/// and graph copies, and 14 to 32 of 40 good loads failed): every load and carry in this process holds the folder's gate
/// shared while it runs, and a load's sweep takes it exclusively, so no load of this process is half-way when files are
/// removed. A loaded model's copy (ML.NET keeps it open for the model's lifetime and reads it again to save the model)
/// is left alone: it is opened exclusively first, which fails while ML.NET holds it. A load's sweep no longer removes
/// <c>ml_dotnet_*</c> folders: ML.NET deletes a failed load's own folder, and the ones that appear meanwhile belong to
/// saves and loads running beside it (ML.NET's own <c>Model.Save</c> included), which failed when it removed them.
/// </remarks>
internal sealed partial class TempFileSweep : IDisposable
{
    // A sweep waits this long for the loads beside it to finish, then leaves the leftovers rather than hold up every load
    // in the folder behind it (a waiting writer stops new readers; review).
    private static readonly TimeSpan SweepWait = TimeSpan.FromSeconds(5);

    // One gate per folder for the process's lifetime: a few objects for the folders a process loads from.
    private static readonly ConcurrentDictionary<string, ReaderWriterLockSlim> Gates = new(OperatingSystem.IsWindows() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);

    private readonly ReaderWriterLockSlim _gate;
    private bool _holdsGate;
    private readonly string _folder;
    private readonly HashSet<string>? _before;
    private readonly DateTime _since;
    private readonly IReadOnlyList<(long Length, byte[] Sha256)> _graphs;
    private readonly IReadOnlyList<byte[]>? _carried;

    private TempFileSweep(string folder, IReadOnlyList<(long Length, byte[] Sha256)> graphs, IReadOnlyList<byte[]>? carried)
    {
        _folder = folder;
        _graphs = graphs;
        _carried = carried;
        if (carried is not null)
        {
            // Nothing is listed up front: this runs on every carry, and a temp folder can hold many entries. Two seconds
            // back covers file systems that keep coarse write times.
            _since = DateTime.UtcNow.AddSeconds(-2);
        }
        else
        {
            _before = Directory.Exists(folder) ? Directory.EnumerateFileSystemEntries(folder).ToHashSet(StringComparer.Ordinal) : [];
        }

        // Last, after everything that can throw: a constructor that threw with the gate held left it held for good (review).
        _gate = Gates.GetOrAdd(Key(folder), _ => new ReaderWriterLockSlim(LockRecursionPolicy.SupportsRecursion));
        _gate.EnterReadLock();
        _holdsGate = true;
    }

    /// <summary>Notes what <paramref name="folder"/> holds now (a load: only entries that appear after this are removed).</summary>
    /// <param name="folder">The temp folder.</param>
    /// <param name="graphs">The zip's graphs: their byte counts and SHA-256 (<see cref="ModelZipCheck.Run"/>).</param>
    public static TempFileSweep Before(string folder, IReadOnlyList<(long Length, byte[] Sha256)> graphs) => new(folder, graphs, null);

    /// <summary>
    /// For a carry of <paramref name="graphs"/> that may fail on a full temp disk: <c>ml_dotnet_*</c> folders written from
    /// now on are removed, and random-named files whose bytes begin one of <paramref name="graphs"/> (copies of it, cut
    /// short or whole). A forecaster carries two: its scorer and its start-of-stream state.
    /// </summary>
    public static TempFileSweep Since(string folder, params IReadOnlyList<byte[]> graphs) => new(folder, [], graphs);

    /// <summary>Releases the folder's gate (a load that did not fail).</summary>
    public void Dispose() => Release();

    /// <summary>
    /// Deletes the load's leftovers once no other load of this process is running in the folder; never throws (the
    /// load's own error is the one to report). <paramref name="failure"/>: the load's error, when it names a graph copy
    /// this load wrote in the folder that could not be opened (out of file descriptors), that copy goes too.
    /// </summary>
    public void Sweep(Exception? failure = null)
    {
        Release();
        bool exclusive;
        try
        {
            exclusive = _gate.TryEnterWriteLock(SweepWait);
        }
        catch (LockRecursionException)
        {
            // This thread is inside another load of the folder (a loader that loads): leave the leftovers to it.
            return;
        }

        if (!exclusive)
        {
            return;
        }

        try
        {
            SweepExclusively(failure);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The folder cannot be listed now (no descriptor left): the load's error is the one to report.
        }
        finally
        {
            _gate.ExitWriteLock();
        }
    }

    private void Release()
    {
        if (_holdsGate)
        {
            _holdsGate = false;
            _gate.ExitReadLock();
        }
    }

    // Links resolved: a failing load through a linked spelling of the folder swept beside loads through the other (QA).
    private static string Key(string folder) => Path.TrimEndingDirectorySeparator(PhysicalPath.Resolve(folder));

    private void SweepExclusively(Exception? failure)
    {
        if (!Directory.Exists(_folder))
        {
            return;
        }

        if (failure is not null && UnopenedCopy(failure) is { } unopened)
        {
            // Limits QA: ML.NET wrote its copy and then could not open it (EMFILE); the rule below could not tell it
            // from a held copy, since its own open failed too, and the copy stayed for good. Unlinking needs no descriptor.
            File.Delete(unopened);
        }

        foreach (var entry in Directory.EnumerateFileSystemEntries(_folder).Where(e => _before is null ? WrittenSince(e) : !_before.Contains(e)).ToArray())
        {
            try
            {
                var name = Path.GetFileName(entry);
                if (_carried is not null && Directory.Exists(entry) && name.StartsWith("ml_dotnet_", StringComparison.Ordinal))
                {
                    Directory.Delete(entry, recursive: true);
                }
                else if (File.Exists(entry) && RandomFileName().IsMatch(name) && OneOfOurs(entry))
                {
                    File.Delete(entry);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Best effort: a file another process holds is not ours to fight over.
            }
        }
    }

    // A loaded model's copy is open in ML.NET (shared read); an exclusive open fails then, on Windows and, through .NET's
    // advisory locks, on Unix.
    private static bool HeldOpen(string file)
    {
        try
        {
            using var probe = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.None);
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return true;
        }
    }

    /// <summary>
    /// A random-named file in the folder that appeared during this load and that <paramref name="failure"/> (or an
    /// exception inside it) says could not be opened for lack of file descriptors ("Too many open files : 'path'").
    /// </summary>
    internal string? UnopenedCopy(Exception failure)
    {
        for (Exception? e = failure; e is not null; e = e.InnerException)
        {
            if (!e.Message.Contains("Too many open files", StringComparison.Ordinal))
            {
                continue;
            }

            foreach (Match m in QuotedPath().Matches(e.Message))
            {
                var path = m.Groups[1].Value;
                if (Path.IsPathFullyQualified(path)
                    && string.Equals(Path.GetDirectoryName(path), Path.TrimEndingDirectorySeparator(_folder), StringComparison.Ordinal)
                    && RandomFileName().IsMatch(Path.GetFileName(path))
                    && File.Exists(path)
                    && (_before is null ? WrittenSince(path) : !_before.Contains(path)))
                {
                    return path;
                }
            }
        }

        return null;
    }

    [GeneratedRegex("'([^']+)'")]
    private static partial Regex QuotedPath();

    private bool WrittenSince(string entry)
    {
        try
        {
            return (Directory.Exists(entry) ? Directory.GetLastWriteTimeUtc(entry) : File.GetLastWriteTimeUtc(entry)) >= _since;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    // A load's: a copy of one of its graphs (size, then SHA-256) that no model holds open: the size alone took the copies
    // of plain Model.Load calls beside it, which write their copy before they open it (QA). A carry's: a prefix of its
    // graphs' bytes (another model's copy, held open or not, is never one; the size rule took a smaller model's copy
    // loaded meanwhile; review).
    private bool OneOfOurs(string file)
    {
        if (_carried is null)
        {
            var length = new FileInfo(file).Length;
            if (!_graphs.Any(g => g.Length == length) || HeldOpen(file))
            {
                return false;
            }

            var hash = System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(file));
            return _graphs.Any(g => g.Length == length && g.Sha256.AsSpan().SequenceEqual(hash));
        }

        var bytes = File.ReadAllBytes(file);
        return _carried.Any(g => bytes.Length <= g.Length && bytes.AsSpan().SequenceEqual(g.AsSpan(0, bytes.Length)));
    }

    // Path.GetRandomFileName's shape, which ML.NET's OnnxModel uses for its copy of the graph.
    [GeneratedRegex("^[a-z0-9]{8}\\.[a-z0-9]{3}$")]
    private static partial Regex RandomFileName();
}
