using System.Diagnostics;
using System.IO.Compression;
using Lmu.MLNet.Tests.Infrastructure;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>
/// PACKAGE TEST (about two minutes, most of it packing libtorch once for the class): the Samples app packed as a .NET
/// tool (<c>dotnet pack</c> of Lmu.MLNet.Samples into a local folder feed), installed with <c>dotnet tool install
/// --tool-path</c> into a temporary folder, and run there as <c>lmu</c>: its help lists classify and forecast, and
/// both train on small generated files, the forecaster through libtorch, so the installed tool carries the TorchSharp
/// native library in a form this host loads.
/// </summary>
[TestClass]
public sealed class ToolPackageTests
{
    private static string _temp = string.Empty;
    private static string _version = string.Empty;
    private static string _lmu = string.Empty;

    [ClassInitialize]
    public static void PackAndInstall(TestContext context)
    {
        if (!OperatingSystem.IsLinux() || System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture != System.Runtime.InteropServices.Architecture.X64)
        {
            return;
        }

        _temp = Path.Combine(Path.GetTempPath(), "lmu-tool-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_temp);
        var root = ConsumerProject.RepositoryRoot();
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Parent!.Name; // bin/<config>/net10.0/<rid>
        // Removed from the package cache afterwards.
        _version = PackageConsumerTests.UniqueTestVersion();
        var feed = Path.Combine(_temp, "feed");
        var (packCode, packLog) = PackageConsumerTests.Dotnet(root, TimeSpan.FromMinutes(8), "pack", Path.Combine(root, "Lmu.MLNet.Samples", "Lmu.MLNet.Samples.csproj"),
            "-c", configuration, "--no-build", "-o", feed, $"-p:PackageVersion={_version}");
        Assert.AreEqual(0, packCode, packLog);
        var nupkg = Path.Combine(feed, $"Lmu.MLNet.Tool.{_version}.nupkg");
        using (var zip = ZipFile.OpenRead(nupkg))
        {
            var names = zip.Entries.Select(e => e.FullName).ToList();
            Assert.IsTrue(names.Any(n => n.EndsWith("/DotnetToolSettings.xml", StringComparison.Ordinal)), "a tool package");
            Assert.IsTrue(names.Any(n => n.EndsWith("/libLibTorchSharp.so", StringComparison.Ordinal)), "the tool carries the TorchSharp native bridge");
        }

        var tools = Path.Combine(_temp, "tools");
        var (installCode, installLog) = PackageConsumerTests.Dotnet(_temp, TimeSpan.FromMinutes(4), "tool", "install", "Lmu.MLNet.Tool", "--tool-path", tools,
            "--add-source", feed, "--version", _version);
        Assert.AreEqual(0, installCode, installLog);
        _lmu = Path.Combine(tools, "lmu");
        Assert.IsTrue(File.Exists(_lmu), installLog);
    }

    [ClassCleanup]
    public static void Remove()
    {
        if (_temp.Length > 0 && Directory.Exists(_temp))
        {
            Directory.Delete(_temp, recursive: true);
        }

        var cached = Path.Combine(PackageConsumerTests.GlobalPackages(), "lmu.mlnet.tool", _version);
        if (_version.Length > 0 && Directory.Exists(cached))
        {
            Directory.Delete(cached, recursive: true);
        }
    }

    [TestMethod]
    [TestCategory("Package")]
    public void TheInstalledToolHelpListsClassifyAndForecast()
    {
        var (code, log) = Lmu(_temp, "--help");
        Assert.AreEqual(0, code, log);
        StringAssert.Contains(log, "classify");
        StringAssert.Contains(log, "forecast");
        // Named as the user typed it (QA: the usage said "Lmu.MLNet.Samples [command] [options]"), in every command's help.
        StringAssert.Contains(log, "Usage:" + Environment.NewLine + "  lmu [command] [options]");
        (code, log) = Lmu(_temp, "classify", "--help");
        Assert.AreEqual(0, code, log);
        StringAssert.Contains(log, "  lmu classify [options]");
        Assert.DoesNotContain("Lmu.MLNet.Samples", log);
        (code, log) = Lmu(_temp, "--version");
        Assert.AreEqual(0, code, log);
        StringAssert.Matches(log.Trim(), new System.Text.RegularExpressions.Regex(@"^\d+\.\d+\.\d+"), "the version option, which RootCommand brought, is kept");
    }

    [TestMethod]
    [TestCategory("Package")]
    public void TheInstalledToolClassifiesAndForecastsWithLibtorch()
    {
        var work = Path.Combine(_temp, "work-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(work);
        var train = CliFiles.Classification(Path.Combine(work, "train.csv"), rowsPerClass: 8, steps: 24, seed: 5);
        var (code, log) = Lmu(work, "classify", "--train", train, "--folds", "2", "--output", Path.Combine(work, "classify"));
        Assert.AreEqual(0, code, log);
        StringAssert.Contains(log, "fold 2/2");
        // The hint names the tool's command (it said "predict" alone, no command a tool user has).
        StringAssert.Contains(log, "score new rows: lmu predict --model ");
        Assert.IsTrue(File.Exists(Path.Combine(work, "classify", "model.zip")), log);

        var series = CliFiles.Forecasting(Path.Combine(work, "series.csv"), series: 1, length: 80, seed: 6);
        (code, log) = Lmu(work, "forecast", "--train", series, "--value", "value", "--horizon", "4", "--epochs", "1", "--threads", "1", "--output", Path.Combine(work, "forecast"));
        Assert.AreEqual(0, code, log);
        StringAssert.Contains(log, "trained");
        Assert.IsTrue(File.Exists(Path.Combine(work, "forecast", "model.zip")), log);
    }

    private static (int Code, string Log) Lmu(string workingDirectory, params string[] args)
    {
        if (_lmu.Length == 0)
        {
            Assert.Inconclusive("the tool carries the linux-x64 libtorch backend");
        }

        var start = new ProcessStartInfo(_lmu) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory };
        foreach (var a in args) start.ArgumentList.Add(a);
        // Nothing that could lead the tool to a libtorch or a shared folder elsewhere on the machine.
        start.Environment.Remove("LD_LIBRARY_PATH");
        start.Environment.Remove(SharedData.EnvironmentVariable);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"lmu {string.Join(' ', args)} did not finish within 3 minutes");
        }

        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
