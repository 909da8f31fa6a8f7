namespace Lmu.MLNet.Samples.Cli;

/// <summary>Whether the process that left a temporary file or folder (named with its id) still runs.</summary>
internal static class ProcessLiveness
{
    /// <summary>
    /// True while process <paramref name="pid"/> runs. A pid taken again by another process reads as running, so its
    /// files are kept: the safe side for a tidy-up.
    /// </summary>
    public static bool Running(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }
}
