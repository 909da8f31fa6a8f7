using System.Diagnostics;

namespace Lmu.MLNet.Samples.Soak;

/// <summary>
/// Busy-loop processes beside the soak, so the machine is oversubscribed as CI machines and servers are: threads
/// get descheduled at arbitrary points inside native calls. Each loop ends by itself when this process is gone
/// (it polls our pid) or after a time cap, so a crash of the soak never leaves them spinning.
/// </summary>
internal sealed class BusyLoad : IDisposable
{
    private readonly List<Process> _processes = [];

    public BusyLoad(int count, TimeSpan cap)
    {
        if (count <= 0)
        {
            return;
        }

        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            throw new PlatformNotSupportedException("--busy needs a POSIX shell (sh, timeout); use --busy 0 here.");
        }

        var script = $"while kill -0 {Environment.ProcessId} 2>/dev/null; do :; done";
        for (var i = 0; i < count; i++)
        {
            var info = new ProcessStartInfo("timeout", [((int)Math.Ceiling(cap.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture), "sh", "-c", script])
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            _processes.Add(Process.Start(info) ?? throw new InvalidOperationException("Could not start a busy-loop process (timeout/sh)."));
        }
    }

    /// <summary>Busy processes started.</summary>
    public int Count => _processes.Count;

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            try
            {
                if (!p.HasExited)
                {
                    p.Kill(entireProcessTree: true);
                }

                p.WaitForExit(5000);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }

            p.Dispose();
        }

        _processes.Clear();
    }
}
