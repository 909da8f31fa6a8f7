namespace Lmu.MLNet.Samples.Serving;

/// <summary>How much memory the process uses against what it may use, and which limit that is (for messages).</summary>
/// <param name="UsedBytes">In use: the managed heap after the last collection, less its free space, under a GC heap hard limit; else the working set.</param>
/// <param name="LimitBytes">What the runtime lets the process use: the heap hard limit, a container's limit, or the machine's memory.</param>
/// <param name="What">Which of them, in words.</param>
internal sealed record ProcessMemoryUse(long UsedBytes, long LimitBytes, string What)
{
    /// <summary>The process now.</summary>
    public static ProcessMemoryUse Now()
    {
        var info = GC.GetGCMemoryInfo();
        // A heap hard limit bounds the managed heap alone (native memory, ONNX Runtime's included, is outside it), so
        // the heap is what is measured against it; otherwise the runtime's bound is the container's or the machine's,
        // which the whole process fills.
        // The heap less its free space: the free space a collection left uncompacted counted as used, and new series
        // were refused for minutes while none was held (review: 190 MB of a 196 MB gen2 was free).
        return Lmu.MLNet.Ridge.AvailableMemory.HeapHardLimitSet()
            ? new ProcessMemoryUse(info.HeapSizeBytes - info.FragmentedBytes, info.TotalAvailableMemoryBytes, "the GC heap hard limit, against the managed heap")
            : new ProcessMemoryUse(Environment.WorkingSet, info.TotalAvailableMemoryBytes, "the container's limit or the machine's memory, against the working set");
    }
}
