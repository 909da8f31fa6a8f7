using System.Diagnostics;

namespace Lmu.MLNet.Tests.Infrastructure;

/// <summary>
/// Runs the Samples app in a NEW PROCESS from a copy of its build output that leaves out every libtorch native
/// library, so a command that succeeds there provably needs no libtorch.
/// </summary>
internal static class SamplesApp
{
    /// <summary>Native files of the torch backend (libtorch, c10, the TorchSharp bridge and torch's OpenMP runtime).</summary>
    private static readonly string[] TorchNativePrefixes = ["libtorch", "libc10", "libLibTorchSharp", "libgomp", "libshm"];

    /// <summary>Copies the Samples build output into <paramref name="target"/> without the torch natives; returns <paramref name="target"/>.</summary>
    public static string CopyWithoutTorch(string target)
    {
        var source = Output();
        var skipped = 0;
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            if (TorchNativePrefixes.Any(p => Path.GetFileName(file).StartsWith(p, StringComparison.Ordinal)))
            {
                skipped++;
                continue;
            }

            var destination = Path.Combine(target, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(file, destination);
        }

        Assert.IsGreaterThan(0, skipped, "the Samples output should contain libtorch natives to leave out (otherwise the test proves nothing)");
        Assert.IsFalse(
            Directory.EnumerateFiles(target, "*", SearchOption.AllDirectories).Any(f => TorchNativePrefixes.Any(p => Path.GetFileName(f).StartsWith(p, StringComparison.Ordinal))));
        return target;
    }

    /// <summary>Runs the app in <paramref name="appDir"/> with <paramref name="args"/>; returns the exit code and stdout + stderr.</summary>
    public static (int Code, string Output) Run(string appDir, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(appDir, "Lmu.MLNet.Samples.dll"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        // No library search path that could lead to a libtorch elsewhere on the machine.
        start.Environment.Remove("LD_LIBRARY_PATH");
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{args.FirstOrDefault()} did not finish within 2 minutes");
        }

        return (process.ExitCode, stdout + stderr.Result);
    }

    /// <summary>The Samples app's build output for this configuration (built first through a ProjectReference).</summary>
    private static string Output()
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
}
