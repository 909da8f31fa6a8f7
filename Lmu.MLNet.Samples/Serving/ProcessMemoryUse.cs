namespace Lmu.MLNet.Samples.Serving;

/// <summary>How much memory the process uses against what it may use, and which limit that is (for messages).</summary>
/// <param name="UsedBytes">In use: the managed heap after the last collection less its free space, or the working set.</param>
/// <param name="LimitBytes">The limit it is measured against: a GC heap hard limit, a container's limit, or the machine's memory.</param>
/// <param name="What">Which of them, in words.</param>
internal sealed record ProcessMemoryUse(long UsedBytes, long LimitBytes, string What)
{
    /// <summary>The share of its limit in use.</summary>
    public double Share => LimitBytes > 0 ? (double)UsedBytes / LimitBytes : 0;

    // The last reading and when it was made (Environment.TickCount64): reading /proc and the cgroup files costs 100-170
    // us (review), paid by every request for a new series, refused ones included.
    // A reference, so that threads swap it whole (a tuple of two fields could be read half-written).
    private static Reading? s_last;

    /// <summary>The least time between two readings of <see cref="Now"/>.</summary>
    public const int ReadEveryMilliseconds = 100;

    /// <summary>The process now, read again at most every <see cref="ReadEveryMilliseconds"/>: the nearer of its limits (see <see cref="Nearer"/>).</summary>
    public static ProcessMemoryUse Now()
    {
        var now = Environment.TickCount64;
        if (s_last is { } last && now - last.At < ReadEveryMilliseconds)
        {
            return last.Use;
        }

        var use = Read();
        s_last = new Reading(now, use);
        return use;
    }

    /// <summary>A full garbage collection, after which <see cref="Now"/> reads again.</summary>
    public static void Collect()
    {
        GC.Collect();
        s_last = null;
    }

    private static ProcessMemoryUse Read()
    {
        var info = GC.GetGCMemoryInfo();
        // The heap less its free space: the free space a collection left uncompacted counted as used, and new series
        // were refused for minutes while none was held (review: 190 MB of a 196 MB gen2 was free).
        var heap = Lmu.MLNet.Ridge.AvailableMemory.HeapHardLimitSet()
            ? new ProcessMemoryUse(info.HeapSizeBytes - info.FragmentedBytes, info.TotalAvailableMemoryBytes, "the GC heap hard limit, against the managed heap")
            : null;
        var whole = ContainerMemory.Now() is { } container
            ? new ProcessMemoryUse(container.UsedBytes, container.LimitBytes, container.What)
            : heap is null ? new ProcessMemoryUse(Environment.WorkingSet, info.TotalAvailableMemoryBytes, "the machine's memory, against the working set") : null;
        return Nearer(heap, whole);
    }

    /// <summary>
    /// The measure nearer its limit. Both count: a heap hard limit bounds the managed heap alone, and in a container .NET
    /// sets one itself (75 % of the container's limit), so the heap alone was measured there while ONNX Runtime, Orleans,
    /// thread stacks and libraries (35-60 MB) were not: QA's server in a 200 MB container was refusing new series at
    /// 127 MB of heap when the kernel killed it (exit 137, 3 of 3 runs).
    /// </summary>
    internal static ProcessMemoryUse Nearer(ProcessMemoryUse? heap, ProcessMemoryUse? whole) =>
        heap is null ? whole! : whole is null || heap.Share >= whole.Share ? heap : whole;

    private sealed record Reading(long At, ProcessMemoryUse Use);
}
