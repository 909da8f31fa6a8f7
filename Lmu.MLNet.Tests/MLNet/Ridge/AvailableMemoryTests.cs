using Lmu.MLNet.Ridge;

namespace Lmu.MLNet.Tests.MLNet.Ridge;

/// <summary>The ridge's memory plan counts native memory and, on Linux, what the system still has.</summary>
[TestClass]
public sealed class AvailableMemoryTests
{
    [TestMethod]
    public void MemAvailableIsReadInBytesFromMeminfo()
    {
        const string meminfo = "MemTotal:       24684020 kB\nMemFree:        18846708 kB\nMemAvailable:   24047876 kB\nBuffers:          161596 kB\n";
        Assert.AreEqual(24047876L * 1024, AvailableMemory.MemAvailable(meminfo));
        Assert.IsNull(AvailableMemory.MemAvailable("MemTotal:       24684020 kB\n"), "no such line (kernels before 3.14)");
        Assert.IsNull(AvailableMemory.MemAvailable("MemAvailable:   lots kB\n"));
        Assert.IsNull(AvailableMemory.MemAvailable("MemAvailable:   24047876 MB\n"), "an unknown unit is not guessed");
        Assert.IsNull(AvailableMemory.MemAvailable(null));
    }

    [TestMethod]
    public void TheLimitIsBelowWhatTheRuntimeAllowsLessTheWorkingSetAndBelowTheSystemsAvailableMemory()
    {
        var (bytes, source) = AvailableMemory.Now();
        // The working set and MemAvailable move between these reads; a margin of 256 MB covers that, far below the
        // process's own working set (which the old plan, counting the managed heap only, did not subtract).
        const long margin = 256L << 20;
        Assert.IsGreaterThan(0L, bytes);
        Bound.AtMost(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes - Environment.WorkingSet + margin, bytes, source);
        if (OperatingSystem.IsLinux())
        {
            var system = AvailableMemory.MemAvailable(File.ReadAllText("/proc/meminfo"));
            Assert.IsNotNull(system, "MemAvailable is in every kernel since 3.14");
            Bound.AtMost(system.Value + margin, bytes, source);
        }
    }
    [TestMethod]
    public void UnderAHeapHardLimitOnlyTheManagedMemoryHeldCounts()
    {
        // QA: a 150 MB heap limit less a 230 MB working set (libtorch's native memory, which that limit does not bound)
        // left "-0.08 GB" for a one-row ridge.
        const long MB = 1L << 20;
        var (bytes, source) = AvailableMemory.Rule(totalAvailable: 150 * MB, heapHardLimit: true, workingSet: 230 * MB, managed: 20 * MB, memAvailable: 8000 * MB);
        // 70 % of the limit: planning up to the limit itself ran into OutOfMemoryException (regression QA).
        Assert.AreEqual((105 - 20) * MB, bytes);
        StringAssert.Contains(source, "GCHeapHardLimit");

        // Without such a limit the bound is the process's whole memory, so native memory counts.
        (bytes, source) = AvailableMemory.Rule(totalAvailable: 1000 * MB, heapHardLimit: false, workingSet: 230 * MB, managed: 20 * MB, memAvailable: 8000 * MB);
        Assert.AreEqual(770 * MB, bytes);
        StringAssert.Contains(source, "the runtime allows");
        (bytes, _) = AvailableMemory.Rule(totalAvailable: 1000 * MB, heapHardLimit: false, workingSet: 230 * MB, managed: 300 * MB, memAvailable: null);
        Assert.AreEqual(700 * MB, bytes, "the larger of the two held");

        // The system's available memory bounds both.
        (bytes, source) = AvailableMemory.Rule(totalAvailable: 150 * MB, heapHardLimit: true, workingSet: 230 * MB, managed: 20 * MB, memAvailable: 50 * MB);
        Assert.AreEqual(50 * MB, bytes);
        StringAssert.Contains(source, "MemAvailable");
    }
}
