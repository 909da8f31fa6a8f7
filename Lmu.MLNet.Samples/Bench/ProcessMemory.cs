using System.Runtime.InteropServices;

namespace Lmu.MLNet.Samples.Bench;

/// <summary>
/// Peak resident memory of one call in this process (Linux): freed heap pages go back to the kernel first
/// (<c>malloc_trim</c>) and the kernel's high-water mark is reset to the current resident size (<c>clear_refs</c> 5), so
/// the peak measured afterwards is the call's own working memory, not what earlier calls left cached. The peer's driver
/// (<c>peer_driver.py</c>) measures its calls the same way.
/// </summary>
internal static class ProcessMemory
{
    private static long _processPeakKb;

    /// <summary>Whether the measurement works here (Linux with a writable <c>/proc/self/clear_refs</c>).</summary>
    public static bool Supported { get; } = OperatingSystem.IsLinux() && File.Exists("/proc/self/clear_refs");

    /// <summary>The whole run's peak resident memory (KiB), kept across the resets the per-call measurement makes.</summary>
    public static long ProcessPeakKb => Math.Max(_processPeakKb, StatusKb("VmHWM"));

    /// <summary>Runs <paramref name="action"/> and returns the peak resident memory (KiB) it added above the trimmed process.</summary>
    public static long PeakAddedKb(Action action)
    {
        if (!Supported)
        {
            action();
            return -1;
        }
        _processPeakKb = Math.Max(_processPeakKb, StatusKb("VmHWM"));
        // Managed garbage first, so that tensors only a finalizer would free are not counted as this call's memory.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        _ = MallocTrim(0);
        File.WriteAllText("/proc/self/clear_refs", "5");
        long baseline = StatusKb("VmRSS");
        action();
        return StatusKb("VmHWM") - baseline;
    }

    /// <summary>A field of /proc/self/status in KiB (-1 when absent).</summary>
    public static long StatusKb(string field)
    {
        if (!OperatingSystem.IsLinux()) return -1;
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return long.Parse(line.AsSpan(field.Length + 1).Trim().ToString().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        return -1;
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);
}
