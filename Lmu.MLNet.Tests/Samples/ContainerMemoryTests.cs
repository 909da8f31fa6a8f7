using Lmu.MLNet.Samples.Serving;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>
/// The memory serve --series measures new series against: a container's limit and use read from the cgroup files (v1
/// and v2), and the nearer of that and a GC heap hard limit (QA: in a 200 MB container the heap alone was measured,
/// against the limit .NET set itself, and the kernel killed the server while it was refusing new series).
/// </summary>
[TestClass]
public sealed class ContainerMemoryTests
{
    private const long MB = 1L << 20;

    [TestMethod]
    public void TheGroupNearestItsLimitOnTheWayUpIsReadLessItsInactiveFileCache()
    {
        const string v1 = "/sys/fs/cgroup/memory";
        var files = new Dictionary<string, string>
        {
            [$"{v1}/process_api/a/memory.limit_in_bytes"] = "9223372036854771712\n",   // v1's "no limit"
            [$"{v1}/process_api/a/memory.usage_in_bytes"] = $"{300 * MB}\n",
            [$"{v1}/process_api/a/serve/memory.limit_in_bytes"] = $"{200 * MB}\n",
            [$"{v1}/process_api/a/serve/memory.usage_in_bytes"] = $"{180 * MB}\n",
            [$"{v1}/process_api/a/serve/memory.stat"] = $"cache {40 * MB}\ninactive_file {1 * MB}\ntotal_inactive_file {30 * MB}\n",
            [$"{v1}/process_api/memory.limit_in_bytes"] = $"{24_000 * MB}\n",
            [$"{v1}/process_api/memory.usage_in_bytes"] = $"{900 * MB}\n",
        };
        const string hybrid = "4:memory:/process_api/a/serve\n3:cpuset:/\n0::/\n";
        Assert.AreEqual(new ContainerMemory(200 * MB, 150 * MB, "/process_api/a/serve", Own: true), ContainerMemory.Parse(hybrid, files.GetValueOrDefault), "usage less total_inactive_file");
        files[$"{v1}/process_api/memory.limit_in_bytes"] = $"{150 * MB}\n";
        Assert.AreEqual(new ContainerMemory(150 * MB, 900 * MB, "/process_api", Own: false), ContainerMemory.Parse(hybrid, files.GetValueOrDefault), "a parent nearer its limit (its own use counts, its other groups' included)");
        Assert.IsNull(ContainerMemory.Parse("4:memory:/process_api/b\n0::/\n", _ => "9223372036854771712"), "no limit anywhere");

        // A container on cgroup v2: its group is the namespace's root.
        var v2 = new Dictionary<string, string>
        {
            ["/sys/fs/cgroup/memory.max"] = $"{512 * MB}\n",
            ["/sys/fs/cgroup/memory.current"] = $"{100 * MB}\n",
            ["/sys/fs/cgroup/memory.stat"] = $"anon {60 * MB}\nfile {40 * MB}\ninactive_file {25 * MB}\n",
        };
        Assert.AreEqual(new ContainerMemory(512 * MB, 75 * MB, "/", Own: true), ContainerMemory.Parse("0::/\n", v2.GetValueOrDefault));
        v2["/sys/fs/cgroup/memory.max"] = "max\n";
        Assert.IsNull(ContainerMemory.Parse("0::/\n", v2.GetValueOrDefault));
        var unit = new Dictionary<string, string>
        {
            ["/sys/fs/cgroup/system.slice/lmu.service/memory.max"] = "max\n",
            ["/sys/fs/cgroup/system.slice/lmu.service/memory.current"] = $"{10 * MB}\n",
            ["/sys/fs/cgroup/system.slice/memory.max"] = $"{1024 * MB}\n",
            ["/sys/fs/cgroup/system.slice/memory.current"] = $"{700 * MB}\n",
        };
        var slice = ContainerMemory.Parse("0::/system.slice/lmu.service\n", unit.GetValueOrDefault);
        Assert.AreEqual(new ContainerMemory(1024 * MB, 700 * MB, "/system.slice", Own: false), slice);
        // Review: the refusal called a slice's use "its memory"; a group above the process's own is named as shared.
        StringAssert.Contains(slice!.What, "the control group /system.slice above its own, which other processes share");
        // Review: Docker on v1 without a cgroup namespace lists /docker/<id>, with the container's own group at the root.
        var docker = new Dictionary<string, string>
        {
            ["/sys/fs/cgroup/memory/memory.limit_in_bytes"] = $"{256 * MB}\n",
            ["/sys/fs/cgroup/memory/memory.usage_in_bytes"] = $"{100 * MB}\n",
        };
        Assert.AreEqual(new ContainerMemory(256 * MB, 100 * MB, "/", Own: true), ContainerMemory.Parse("12:memory:/docker/0123abcd\n0::/\n", docker.GetValueOrDefault));
        var own = new ContainerMemory(512 * MB, 75 * MB, "/", Own: true).What;
        StringAssert.Contains(own, "the memory limit of its control group (a container's)");
        Assert.DoesNotContain("other processes", own);
    }

    [TestMethod]
    public void TheMeasureNearerItsLimitIsTheOneAdmissionUses()
    {
        // QA's server at its death: 127 MB of heap against the 150 MB .NET set itself, the group near its 200 MB limit.
        var heap = new ProcessMemoryUse(127 * MB, 150 * MB, "heap");
        var whole = new ProcessMemoryUse(190 * MB, 200 * MB, "container");
        Assert.AreSame(whole, ProcessMemoryUse.Nearer(heap, whole));
        Assert.IsGreaterThan(SeriesDirectory.MemoryShare, ProcessMemoryUse.Nearer(heap, whole).Share, "refused: 95 % of the container");
        var early = new ProcessMemoryUse(140 * MB, 200 * MB, "container");
        Assert.AreSame(heap, ProcessMemoryUse.Nearer(heap, early), "the heap nearer its limit counts then");
        Assert.AreSame(heap, ProcessMemoryUse.Nearer(heap, null), "a heap limit outside any container");
        Assert.AreSame(whole, ProcessMemoryUse.Nearer(null, whole));
    }
}
