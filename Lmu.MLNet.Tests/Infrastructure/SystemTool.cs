using System.Diagnostics;

namespace Lmu.MLNet.Tests.Infrastructure;

/// <summary>Runs a system tool the tests set conditions with (mount, umount, chattr) and returns its exit code.</summary>
internal static class SystemTool
{
    public static int Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        // Read both streams, so that a tool that says much cannot block on a full pipe.
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEnd();
        _ = stderr.Result;
        process.WaitForExit();
        return process.ExitCode;
    }
}
