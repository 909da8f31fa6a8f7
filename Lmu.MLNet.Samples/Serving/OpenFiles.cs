using System.Globalization;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// The process's open-files limit and the descriptors it holds (Linux: /proc/self), from which <c>serve</c> caps its
/// concurrent connections. Why: under a hard limit of 256 or 1,024 (.NET raises the soft limit to the hard one) many
/// clients made accept, pipe and file opens fail with EMFILE, and the service answered 500 "OutOfMemoryException", then
/// aborted with "Out of memory." (exit 134) or stayed up answering nothing; an idle service already holds about 200
/// descriptors, most of them its assemblies (limits QA).
/// </summary>
/// <param name="Limit">The soft limit on open files.</param>
/// <param name="Open">The descriptors open now.</param>
internal sealed record OpenFiles(long Limit, int Open)
{
    /// <summary>Descriptors kept for the runtime beside connections: assemblies loaded later, ONNX Runtime, pipes, logs.</summary>
    public const int Reserve = 256;

    /// <summary>The fewest concurrent connections worth serving.</summary>
    public const int MinimumConnections = 16;

    /// <summary>The connections the limit leaves room for (0 when none).</summary>
    public int Connections => (int)Math.Clamp(Limit - Open - Reserve, 0, int.MaxValue);

    /// <summary>The process now; null off Linux, when /proc cannot be read, or when the limit is unlimited.</summary>
    public static OpenFiles? Now()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            return SoftLimit(File.ReadAllText("/proc/self/limits")) is { } limit
                ? new OpenFiles(limit, Directory.EnumerateFileSystemEntries("/proc/self/fd").Count())
                : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The soft limit of the "Max open files" line of /proc/self/limits; null when unlimited or absent.</summary>
    internal static long? SoftLimit(string limits)
    {
        foreach (var line in limits.Split('\n'))
        {
            // "Max open files            1024                 4096                 files"
            if (!line.StartsWith("Max open files", StringComparison.Ordinal))
            {
                continue;
            }

            var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return fields.Length > 0 && long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var soft) ? soft : null;
        }

        return null;
    }
}
