using System.Text.RegularExpressions;

namespace Lmu.MLNet;

/// <summary>
/// Removes what a FAILED <c>mlContext.Model.Load</c> leaves in MLContext.TempFilePath: ML.NET extracts the zip into an
/// <c>ml_dotnet_*</c> folder and copies each carried ONNX graph to a randomly named file, and neither is deleted when
/// loading throws (an ONNX Runtime error, say). Only entries that appeared during the load and have those names are
/// removed, and a random-named file only when its size is that of a graph the zip carries, so files of loads running
/// beside this one in the same folder are left alone. The Fit's sweep (<see cref="Since"/>, after a full temp disk) takes
/// what was written since the Fit began, random-named files shorter than the graph included: a load or Fit running beside
/// it in the same folder can lose its copy then, which on a full disk it was about to fail for anyway.
/// </summary>
internal sealed partial class TempFileSweep
{
    private readonly string _folder;
    private readonly HashSet<string>? _before;
    private readonly DateTime _since;
    private readonly HashSet<long> _onnxLengths;
    private readonly bool _truncated;

    private TempFileSweep(string folder, IEnumerable<long> onnxLengths, bool truncated)
    {
        _folder = folder;
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

    /// <summary>Deletes the load's leftovers; never throws (the load's own error is the one to report).</summary>
    public void Sweep()
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
                if (Directory.Exists(entry) && name.StartsWith("ml_dotnet_", StringComparison.Ordinal))
                {
                    Directory.Delete(entry, recursive: true);
                }
                else if (File.Exists(entry) && RandomFileName().IsMatch(name) && OneOfOurs(new FileInfo(entry).Length))
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
