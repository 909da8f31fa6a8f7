namespace Lmu.MLNet.Samples.Serving;

/// <summary>How much memory the process uses against what it may use, and which limit that is (for messages).</summary>
/// <param name="UsedBytes">In use: the managed heap after the last collection less its free space, or the working set.</param>
/// <param name="LimitBytes">The limit it is measured against: a GC heap hard limit, a container's limit, or the machine's memory.</param>
/// <param name="What">Which of them, in words.</param>
internal sealed record ProcessMemoryUse(long UsedBytes, long LimitBytes, string What)
{
    /// <summary>The share of its limit in use.</summary>
    public double Share => LimitBytes > 0 ? (double)UsedBytes / LimitBytes : 0;

    /// <summary>The process now: the nearer of its limits (see <see cref="Nearer"/>).</summary>
    public static ProcessMemoryUse Now()
    {
        var info = GC.GetGCMemoryInfo();
        // The heap less its free space: the free space a collection left uncompacted counted as used, and new series
        // were refused for minutes while none was held (review: 190 MB of a 196 MB gen2 was free).
        var heap = Lmu.MLNet.Ridge.AvailableMemory.HeapHardLimitSet()
            ? new ProcessMemoryUse(info.HeapSizeBytes - info.FragmentedBytes, info.TotalAvailableMemoryBytes, "the GC heap hard limit, against the managed heap")
            : null;
        var whole = ContainerMemory.Now() is { } container
            ? new ProcessMemoryUse(container.UsedBytes, container.LimitBytes, "the container's memory limit (cgroup), against its use less inactive file cache")
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
}
