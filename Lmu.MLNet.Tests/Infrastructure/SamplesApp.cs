using System.Diagnostics;

namespace Lmu.MLNet.Tests.Infrastructure;

/// <summary>Runs the Samples app (built first through a ProjectReference) in its own process, with or without libtorch.</summary>
internal static class SamplesApp
{
    /// <summary>Native files of the torch backend (libtorch, c10, the TorchSharp bridge and torch's OpenMP runtime).</summary>
    public static readonly string[] TorchNativePrefixes = ["libtorch", "libc10", "libLibTorchSharp", "libgomp", "libshm"];

    /// <summary>The Samples app's build output for this configuration.</summary>
    public static string Output()
    {
        var testBin = AppContext.BaseDirectory;
        var dir = new DirectoryInfo(testBin);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Lmu.MLNet.Tests.csproj")))
        {
            dir = dir.Parent;
        }

        Assert.IsNotNull(dir, $"no Lmu.MLNet.Tests.csproj above {testBin}");
        var relative = Path.GetRelativePath(dir.FullName, testBin);
        var samples = Path.Combine(dir.Parent!.FullName, "Lmu.MLNet.Samples", relative);
        Assert.IsTrue(File.Exists(Path.Combine(samples, "Lmu.MLNet.Samples.dll")), $"Samples build output not found at {samples}");
        return samples;
    }

    /// <summary>Copies the app into <paramref name="target"/>, leaving out every torch native file (and checks there were some).</summary>
    public static string CopyWithoutTorch(string source, string target) => Copy(source, target, withTorch: false);

    /// <summary>Copies the app into <paramref name="target"/> (somewhere with no shared/ above it), with or without the torch natives.</summary>
    public static string Copy(string source, string target, bool withTorch = true)
    {
        var skipped = 0;
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            if (!withTorch && IsTorchNative(file))
            {
                skipped++;
                continue;
            }

            var destination = Path.Combine(target, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            // A hard link where the file system allows it: the app with libtorch is over 500 MB.
            if (!OperatingSystem.IsLinux() || Link(file, destination) != 0)
            {
                File.Copy(file, destination);
            }
        }

        if (!withTorch)
        {
            Assert.IsGreaterThan(0, skipped, "the Samples output should contain libtorch natives to leave out (otherwise the test proves nothing)");
            Assert.IsFalse(Directory.EnumerateFiles(target, "*", SearchOption.AllDirectories).Any(IsTorchNative));
        }

        return target;
    }

    /// <summary>A start description for <c>dotnet app/Lmu.MLNet.Samples.dll args</c>, output redirected, no LD_LIBRARY_PATH.</summary>
    public static ProcessStartInfo StartInfo(string appDir, string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory,
        };
        start.ArgumentList.Add(Path.Combine(appDir, "Lmu.MLNet.Samples.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        // No library search path that could lead to a libtorch elsewhere on the machine.
        start.Environment.Remove("LD_LIBRARY_PATH");
        // The app honours LMU_SHARED_DIR as the tests do; the app's tests choose their data by where they copy and run it
        // (MainJobTests needs no shared/ in reach), so a variable set for the test run must not leak into the app.
        start.Environment.Remove(SharedData.EnvironmentVariable);
        return start;
    }

    /// <summary>Runs the app to completion within <paramref name="limit"/>; returns the exit code and stdout + stderr.</summary>
    public static (int Code, string Output) Run(string appDir, string workingDirectory, TimeSpan limit, params string[] args) =>
        Run(StartInfo(appDir, workingDirectory, args), limit, args);

    /// <summary>
    /// <see cref="Run(string, string, TimeSpan, string[])"/> with no shared folder to be found wherever the test runs:
    /// LMU_SHARED_DIR names an empty folder. Relying on none being above the working directory failed three tests when
    /// TMPDIR lay below a folder that holds shared/ (QA).
    /// </summary>
    public static (int Code, string Output) RunWithoutShared(string appDir, string workingDirectory, TimeSpan limit, params string[] args)
    {
        var start = StartInfo(appDir, workingDirectory, args);
        start.Environment[SharedData.EnvironmentVariable] = Directory.CreateDirectory(Path.Combine(workingDirectory, "no-shared")).FullName;
        return Run(start, limit, args);
    }

    /// <summary>Runs the app as <paramref name="start"/> describes (a <see cref="StartInfo"/> the test has adjusted) to completion within <paramref name="limit"/>.</summary>
    public static (int Code, string Output) Run(ProcessStartInfo start, TimeSpan limit) => Run(start, limit, [.. start.ArgumentList.Skip(1)]);

    private static (int Code, string Output) Run(ProcessStartInfo start, TimeSpan limit, string[] args)
    {
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"the Samples app ({string.Join(' ', args)}) did not finish within {limit}");
        }

        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>True when process <paramref name="pid"/> has a torch native library mapped (Linux; false elsewhere).</summary>
    public static bool TorchLoaded(int pid)
    {
        var maps = $"/proc/{pid}/maps";
        return File.Exists(maps) && File.ReadLines(maps).Any(l => TorchNativePrefixes.Any(p => l.Contains("/" + p, StringComparison.Ordinal)));
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int Link(string existing, string created);

    private static bool IsTorchNative(string file) => TorchNativePrefixes.Any(p => Path.GetFileName(file).StartsWith(p, StringComparison.Ordinal));
}
