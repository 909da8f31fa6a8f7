using System.Globalization;

namespace Lmu.MLNet.Ridge;

/// <summary>
/// How much more memory this process may take before it fails: what the runtime says it may use (physical memory, or a
/// container's or the GC's hard limit) less what it already holds, and on Linux no more than the system still has
/// (<c>MemAvailable</c>), since other processes' memory is in neither of the first two and the kernel ends a process
/// that takes more (found by review: the plan counted the managed heap only). What it holds is its working set, native
/// memory included (ONNX Runtime sessions and libtorch live outside the managed heap), except under a GC heap hard
/// limit (<c>GCHeapHardLimit</c>), which bounds the managed heap alone: there the managed memory held is what counts
/// (QA: a 150 MB heap limit less a 230 MB working set of libtorch refused a one-row ridge as "-0.08 GB left", and the
/// experiment silently fell back to a worse network).
/// </summary>
internal static class AvailableMemory
{
    private const string MemInfoPath = "/proc/meminfo";

    /// <summary>The bytes left, with what bounded them (for messages).</summary>
    public static (long Bytes, string Source) Now()
    {
        var info = GC.GetGCMemoryInfo();
        var heapHardLimit = HeapHardLimitSet();
        // Under a heap hard limit the plan is measured against the heap itself, so it counts live objects only (after a
        // full collection, once per plan): garbage not yet collected and the free space a collection left uncompacted
        // made the same fold fit or be refused at random (review: 2,500 rows under 320 MB, fold 3 of 3 refused).
        var managed = heapHardLimit
            ? GC.GetTotalMemory(forceFullCollection: true)
            : Math.Max(GC.GetTotalMemory(forceFullCollection: false), info.HeapSizeBytes);
        var system = OperatingSystem.IsLinux() && File.Exists(MemInfoPath) ? MemAvailable(ReadMemInfo()) : null;
        return Rule(info.TotalAvailableMemoryBytes, heapHardLimit, Environment.WorkingSet, managed, system);
    }

    /// <summary>
    /// The rule of <see cref="Now"/> on its readings: the runtime's bound (<paramref name="totalAvailable"/>) less the
    /// managed memory held under a heap hard limit, else less the working set (or the managed memory, if larger); then
    /// at most <paramref name="memAvailable"/> where known.
    /// </summary>
    internal static (long Bytes, string Source) Rule(long totalAvailable, bool heapHardLimit, long workingSet, long managed, long? memAvailable)
    {
        // Under a heap hard limit the GC needs room of its own (allocation budgets, the large-object heap's free space,
        // which it does not compact): planning up to the limit itself ran into OutOfMemoryException (regression QA: 2,000
        // rows of 5,000 features under 150 MB), so the plan stops at HeapLimitShare of it.
        var runtime = heapHardLimit ? (long)(totalAvailable * HeapLimitShare) - managed : totalAvailable - Math.Max(workingSet, managed);
        return memAvailable is { } s && s < runtime
            ? (s, "the memory the system still has (MemAvailable)")
            : heapHardLimit
                ? (runtime, "70 % of the GC heap hard limit (GCHeapHardLimit), less the managed memory this process holds")
                : (runtime, "the memory the runtime allows this process, less what it holds");
    }

    /// <summary>The share of a GC heap hard limit a plan may fill, the rest left to the GC itself.</summary>
    internal const double HeapLimitShare = 0.7;

    /// <summary>Whether the GC runs under a heap hard limit (set as a size or a percentage, for the heap or any part of it).</summary>
    internal static bool HeapHardLimitSet()
    {
        foreach (var (name, value) in GC.GetConfigurationVariables())
        {
            if (name.StartsWith("GCHeapHardLimit", StringComparison.Ordinal) && value is ulong and > 0 or long and > 0 or uint and > 0 or int and > 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The <c>MemAvailable</c> line of /proc/meminfo in bytes; null when the text has none.</summary>
    public static long? MemAvailable(string? meminfo)
    {
        foreach (var line in (meminfo ?? string.Empty).Split('\n'))
        {
            // "MemAvailable:   24047876 kB"
            if (!line.StartsWith("MemAvailable:", StringComparison.Ordinal))
            {
                continue;
            }

            var parts = line["MemAvailable:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return parts.Length == 2 && parts[1] == "kB" && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var kb)
                ? kb * 1024
                : null;
        }

        return null;
    }

    private static string? ReadMemInfo()
    {
        try
        {
            return File.ReadAllText(MemInfoPath);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
