namespace Lmu.MLNet;

/// <summary>
/// Whether .NET takes its advisory lock for <see cref="FileShare.None"/> on Unix, which the sweeps of killed runs'
/// files read as "a live writer holds this". The runtime's switch <c>System.IO.DisableFileLocking</c> (or
/// <c>DOTNET_SYSTEM_IO_DISABLEFILELOCKING</c>) turns it off, and every file then reads as unheld: a sweep removed live
/// runs' temp files and staging folders (review). With locking off the sweeps leave those files be.
/// </summary>
internal static class FileLocks
{
    /// <summary>True unless the runtime's file locking is turned off (always true on Windows, where sharing is enforced).</summary>
    public static bool Enabled { get; } = OperatingSystem.IsWindows() || !Disabled();

    private static bool Disabled()
    {
        if (AppContext.TryGetSwitch("System.IO.DisableFileLocking", out var disabled))
        {
            return disabled;
        }

        var variable = Environment.GetEnvironmentVariable("DOTNET_SYSTEM_IO_DISABLEFILELOCKING");
        return variable is not null && (variable == "1" || variable.Equals("true", StringComparison.OrdinalIgnoreCase));
    }
}
