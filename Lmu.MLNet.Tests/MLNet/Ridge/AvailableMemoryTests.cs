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
}
