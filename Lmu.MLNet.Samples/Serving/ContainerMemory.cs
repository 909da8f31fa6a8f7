using System.Globalization;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// The memory limit of the process's control group (a container's, a systemd unit's; cgroup v2 or v1) and what the group
/// uses against it: of the process's group and those above it with a limit, the one nearest its limit, its usage less its
/// inactive file cache (the working set a container's orchestrator counts; the kernel reclaims that cache before it
/// kills). Why not the process's working set: it counts shared library pages the group was never charged for (measured
/// in a 200 MB v1 group: 170 MB resident against 96 MB charged, which refused all but 98 series).
/// </summary>
/// <param name="LimitBytes">The group's limit.</param>
/// <param name="UsedBytes">Its usage less its inactive file cache.</param>
/// <param name="Group">The group's path in its hierarchy ("/" in a container that has its own namespace).</param>
/// <param name="Own">Whether it is the process's own group; a group above it (a systemd slice, say) also counts its other members' memory.</param>
internal sealed record ContainerMemory(long LimitBytes, long UsedBytes, string Group, bool Own)
{
    /// <summary>
    /// The group and its measure in words, for messages: a group above the process's own says that other processes share
    /// it (review: the refusal's "its memory" counted a parent slice's other members as the service's).
    /// </summary>
    public string What => Own
        ? "the memory limit of its control group (a container's), against the group's use less its inactive file cache"
        : $"the memory limit of the control group {Group} above its own, which other processes share, against that group's use less its inactive file cache";

    /// <summary>The share of the limit in use.</summary>
    public double Share => (double)UsedBytes / LimitBytes;

    // v1 writes "no limit" as a huge number (9223372036854771712); anything past this is no limit.
    private const long NoLimit = 1L << 60;

    /// <summary>This process's group now; null where no limit is set or the files cannot be read (not Linux).</summary>
    public static ContainerMemory? Now()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            return Parse(File.ReadAllText("/proc/self/cgroup"), Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        static string? Read(string path)
        {
            try
            {
                return File.Exists(path) ? File.ReadAllText(path) : null;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }
    }

    /// <summary>
    /// The rule of <see cref="Now"/> on <c>/proc/self/cgroup</c>'s text and a reader of the group files (null when a file
    /// is absent): v1's <c>memory</c> hierarchy under /sys/fs/cgroup/memory (<c>memory.limit_in_bytes</c>,
    /// <c>memory.usage_in_bytes</c>, <c>memory.stat</c>'s <c>total_inactive_file</c>), else v2's unified one under
    /// /sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts (<c>memory.max</c>, <c>memory.current</c>,
    /// <c>memory.stat</c>'s <c>inactive_file</c>).
    /// </summary>
    internal static ContainerMemory? Parse(string procSelfCgroup, Func<string, string?> read)
    {
        ContainerMemory? nearest = null;
        foreach (var line in procSelfCgroup.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(':', 3);
            if (parts.Length != 3)
            {
                continue;
            }

            var v1 = parts[1].Split(',').Contains("memory");
            if (!v1 && (parts[0] != "0" || parts[1].Length != 0))
            {
                continue;
            }

            string[] roots = v1 ? ["/sys/fs/cgroup/memory"] : ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"];
            var own = parts[2].TrimEnd('/');
            foreach (var root in roots)
            {
                // A container without a cgroup namespace of its own (Docker's default on v1) lists its host path
                // (/docker/<id>) but has its own group mounted at the root: then the root is the process's own group
                // (review: it was named as a parent shared with other processes).
                var ownVisible = read($"{root}{own}/{(v1 ? "memory.usage_in_bytes" : "memory.current")}") is not null;
                // The group and every group above it: a parent's limit bounds its children.
                for (var group = parts[2].TrimEnd('/'); ; group = group[..group.LastIndexOf('/')])
                {
                    var dir = $"{root}{group}/";
                    if (Number(read(dir + (v1 ? "memory.limit_in_bytes" : "memory.max"))) is { } limit && limit < NoLimit
                        && Number(read(dir + (v1 ? "memory.usage_in_bytes" : "memory.current"))) is { } usage)
                    {
                        var inactive = Stat(read(dir + "memory.stat"), v1 ? "total_inactive_file" : "inactive_file") ?? 0;
                        var limited = new ContainerMemory(limit, Math.Max(0, usage - inactive), group.Length == 0 ? "/" : group, group == own || (group.Length == 0 && !ownVisible));
                        nearest = nearest is null || limited.Share > nearest.Share ? limited : nearest;
                    }

                    if (group.Length == 0 || group.LastIndexOf('/') < 0)
                    {
                        break;
                    }
                }
            }
        }

        return nearest;
    }

    private static long? Number(string? text) =>
        long.TryParse(text?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0 ? value : null;

    // One "name value" line of memory.stat.
    private static long? Stat(string? text, string name) =>
        (text ?? string.Empty).Split('\n').Select(l => l.Split(' ')).Where(p => p.Length == 2 && p[0] == name).Select(p => Number(p[1])).FirstOrDefault();
}
