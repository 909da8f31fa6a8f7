using System.Collections.Concurrent;
using System.Text.RegularExpressions;

namespace Lmu.MLNet;

/// <summary>
/// Removes what a FAILED <c>mlContext.Model.Load</c> leaves in MLContext.TempFilePath: ML.NET copies each carried ONNX
/// graph to a randomly named file, which stays when ONNX Runtime then rejects the graph. Only random-named files that
/// appeared during the load, have the size of a graph the zip carries and that no model holds open are removed. The
/// Fit's sweep (<see cref="Since"/>, after a full temp disk) also takes the <c>ml_dotnet_*</c> folders ML.NET's save and
/// load left half-written there, and what was written since the Fit began, random-named files shorter than the graph
/// included: a load or Fit running beside it in the same folder can lose its copy then, which on a full disk it was
/// about to fail for anyway.
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
    // Long enough for any load beside this one to finish; past it the leftovers stay rather than risk a running load.
    private static readonly TimeSpan SweepWait = TimeSpan.FromSeconds(60);
    private static readonly ConcurrentDictionary<string, ReaderWriterLockSlim> Gates = new(OperatingSystem.IsWindows() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);

    private readonly ReaderWriterLockSlim _gate;
    private bool _holdsGate;
    private readonly string _folder;
    private readonly HashSet<string>? _before;
    private readonly DateTime _since;
    private readonly HashSet<long> _onnxLengths;
    private readonly bool _truncated;

    private TempFileSweep(string folder, IEnumerable<long> onnxLengths, bool truncated)
    {
        _folder = folder;
        _gate = Gates.GetOrAdd(Key(folder), _ => new ReaderWriterLockSlim(LockRecursionPolicy.SupportsRecursion));
        _gate.EnterReadLock();
        _holdsGate = true;
        _onnxLengths = onnxLengths.ToHashSet();
        _truncated = truncated;
        if (truncated)
        {
            // Nothing is listed up front: this runs on every Fit and checkpoint, and a temp folder can hold many entries.
            // Two seconds back covers file systems that keep coarse write times.
            _since = DateTime.UtcNow.AddSeconds(-2);
        }
        else
        {
            _before = Directory.Exists(folder) ? Directory.EnumerateFileSystemEntries(folder).ToHashSet(StringComparer.Ordinal) : [];
        }
    }

    /// <summary>Notes what <paramref name="folder"/> holds now (a load: only entries that appear after this are removed).</summary>
    public static TempFileSweep Before(string folder, IEnumerable<long> onnxLengths) => new(folder, onnxLengths, truncated: false);

    /// <summary>
    /// For a Fit that may fail on a full temp disk: entries written from now on are removed, a random-named file shorter
    /// than a graph included (taken for a copy of it cut short).
    /// </summary>
    public static TempFileSweep Since(string folder, IEnumerable<long> onnxLengths) => new(folder, onnxLengths, truncated: true);

    /// <summary>Releases the folder's gate (a load that did not fail).</summary>
    public void Dispose() => Release();

    /// <summary>
    /// Deletes the load's leftovers once no other load of this process is running in the folder; never throws (the
    /// load's own error is the one to report).
    /// </summary>
    public void Sweep()
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
            SweepExclusively();
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

    private static string Key(string folder) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));

    private void SweepExclusively()
    {
        if (!Directory.Exists(_folder))
        {
            return;
        }

        foreach (var entry in Directory.EnumerateFileSystemEntries(_folder).Where(e => _before is null ? WrittenSince(e) : !_before.Contains(e)).ToArray())
        {
            try
            {
                var name = Path.GetFileName(entry);
                if (_truncated && Directory.Exists(entry) && name.StartsWith("ml_dotnet_", StringComparison.Ordinal))
                {
                    Directory.Delete(entry, recursive: true);
                }
                else if (File.Exists(entry) && RandomFileName().IsMatch(name) && OneOfOurs(new FileInfo(entry).Length) && (_truncated || !HeldOpen(entry)))
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

    private bool OneOfOurs(long length) => _onnxLengths.Contains(length) || (_truncated && _onnxLengths.Any(l => length < l));

    // Path.GetRandomFileName's shape, which ML.NET's OnnxModel uses for its copy of the graph.
    [GeneratedRegex("^[a-z0-9]{8}\\.[a-z0-9]{3}$")]
    private static partial Regex RandomFileName();
}
