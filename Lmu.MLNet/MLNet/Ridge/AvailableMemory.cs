using System.Globalization;

namespace Lmu.MLNet.Ridge;

/// <summary>
/// How much more memory this process may take before it fails: what the runtime says it may use (physical memory, or a
/// container's or the GC's hard limit) less what it already holds, native memory included (its working set: ONNX
/// Runtime sessions and libtorch live outside the managed heap), and on Linux no more than the system still has
/// (<c>MemAvailable</c>), since other processes' memory is in neither of the first two and the kernel ends a process
/// that takes more (found by review: the plan counted the managed heap only).
/// </summary>
internal static class AvailableMemory
{
    private const string MemInfoPath = "/proc/meminfo";

    /// <summary>The bytes left, with what bounded them (for messages).</summary>
    public static (long Bytes, string Source) Now()
    {
        var held = Math.Max(Environment.WorkingSet, GC.GetTotalMemory(forceFullCollection: false));
        var runtime = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes - held;
        var system = OperatingSystem.IsLinux() && File.Exists(MemInfoPath) ? MemAvailable(ReadMemInfo()) : null;
        return system is { } s && s < runtime
            ? (s, "the memory the system still has (MemAvailable)")
            : (runtime, "the memory the runtime allows this process, less what it holds");
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
