using System.Globalization;

namespace Lmu.MLNet.Samples.Bench;

/// <summary>What the machine is and how busy it is, printed with every bench so its numbers can be placed.</summary>
internal static class MachineInfo
{
    /// <summary>CPU model name with family/model/stepping and vector extensions (Linux /proc/cpuinfo), else the core count.</summary>
    public static string Cpu()
    {
        if (!File.Exists("/proc/cpuinfo")) return $"{Environment.ProcessorCount} cores";
        string Field(string name) => File.ReadLines("/proc/cpuinfo")
            .FirstOrDefault(l => l.StartsWith(name, StringComparison.Ordinal) && l[name.Length..].TrimStart().StartsWith(':'))?
            .Split(':', 2)[1].Trim() ?? "?";
        var flags = Field("flags").Split(' ');
        var vector = flags.Contains("avx512f") ? "AVX-512" : flags.Contains("avx2") ? "AVX2" : "no AVX2";
        return $"{Field("model name")} (family {Field("cpu family")}, model {Field("model")}, stepping {Field("stepping")}), " +
               $"{Environment.ProcessorCount} cores, {vector}";
    }

    /// <summary>The 1/5/15-minute load averages (Linux), or "n/a".</summary>
    public static string LoadAverage()
    {
        if (!File.Exists("/proc/loadavg")) return "n/a";
        var parts = File.ReadAllText("/proc/loadavg").Split(' ');
        return string.Join(" / ", parts.Take(3));
    }

    /// <summary>Now, UTC, to the minute.</summary>
    public static string Now() => DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
}
