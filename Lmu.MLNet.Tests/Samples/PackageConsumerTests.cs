using Lmu.MLNet.Tests.Infrastructure;
using System.Diagnostics;
using System.IO.Compression;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>
/// PACKAGE TEST (slowest test of the suite, about a minute): <c>dotnet pack</c> makes the Lmu.MLNet package (its own
/// README, symbols, buildTransitive native fix, managed dependencies only), and a fresh consumer project generated in a
/// temp folder restores it from a local folder feed (added to the machine's sources, not replacing them). The consumer's
/// Program.cs is the first C# block of the package README (Lmu.MLNet/README.md), run as written: it trains, evaluates,
/// saves, loads and predicts; every other C# block of that README is compiled in the same project. On a host whose
/// libstdc++ lacks GLIBCXX_3.4.32 the consumer is also built with LmuTorchSharpNativeFix=false and must fail with the
/// error that names the cause. Everything else restores from the local package cache.
/// </summary>
[TestClass]
public sealed partial class PackageConsumerTests
{
    private string _temp = string.Empty;

    [TestInitialize]
    public void MakeTemp()
    {
        _temp = Path.Combine(Path.GetTempPath(), "lmu-package-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_temp);
    }

    [TestCleanup]
    public void RemoveTemp() => Directory.Delete(_temp, recursive: true);

    [TestMethod]
    [TestCategory("Package")]
    [Timeout(600_000, CooperativeCancellation = true)]
    public void ThePackageRestoresIntoAFreshConsumerThatTrainsSavesLoadsAndPredicts()
    {
        if (!OperatingSystem.IsLinux() || System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture != System.Runtime.InteropServices.Architecture.X64)
        {
            Assert.Inconclusive("the consumer uses the linux-x64 libtorch backend");
        }

        var root = ConsumerProject.RepositoryRoot();
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Parent!.Name; // bin/<config>/net10.0/<rid>
        // A version nobody else uses, so the global package cache cannot hold a stale copy; removed afterwards.
        var version = UniqueTestVersion();
        var feed = Path.Combine(_temp, "feed");
        try
        {
            var (packCode, packLog) = Dotnet(root, TimeSpan.FromMinutes(3), "pack", Path.Combine(root, "Lmu.MLNet", "Lmu.MLNet.csproj"), "-c", configuration,
                "--no-build", "-o", feed, $"-p:PackageVersion={version}");
            Assert.AreEqual(0, packCode, packLog);
            CheckPackage(Path.Combine(feed, $"Lmu.MLNet.{version}.nupkg"), root);
            using (var symbols = ZipFile.OpenRead(Path.Combine(feed, $"Lmu.MLNet.{version}.snupkg")))
            {
                Assert.IsTrue(symbols.Entries.Any(e => e.FullName == "lib/net10.0/Lmu.MLNet.pdb"), "the symbol package must carry the pdb");
            }

            var consumer = WriteConsumer(root, feed, version);
            var (runCode, runLog) = Dotnet(consumer, TimeSpan.FromMinutes(6), "run", "-c", "Release");
            Assert.AreEqual(0, runCode, runLog);
            var accuracy = AccuracyLine().Match(runLog);
            Assert.IsTrue(accuracy.Success, runLog);
            // Two well-separated classes (rising vs falling ramps): a working LMU learns them; chance is 0.5.
            Assert.IsGreaterThanOrEqualTo(0.9, double.Parse(accuracy.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), runLog);
            // Predicted by the model loaded from the zip, through MapKeyToValue: the class name.
            StringAssert.Contains(runLog, "A rising ramp is predicted as: rising");
            // ML.NET's PFI took the classifier from the packed library: one importance per step of the 16-step rows.
            StringAssert.Contains(runLog, "Steps scored by PFI: 16;");

            if (HostLacksGlibcxx332())
            {
                CheckFixOff(consumer);
            }
        }
        finally
        {
            var cached = Path.Combine(GlobalPackages(), "lmu.mlnet", version);
            if (Directory.Exists(cached))
            {
                Directory.Delete(cached, recursive: true);
            }
        }
    }

    /// <summary>
    /// The consumer built with the native fix off: the build says so, and the program (the README's example) stops at
    /// its first training with the InvalidOperationException that names GLIBCXX_3.4.32, the property and the backend
    /// version, instead of TorchSharp's "doesn't contain a reference to libtorch-cpu-linux-x64".
    /// </summary>
    private void CheckFixOff(string consumer)
    {
        var output = Path.Combine(_temp, "fix-off");
        var (buildCode, buildLog) = Dotnet(consumer, TimeSpan.FromMinutes(3), "build", "-c", "Release", "-p:LmuTorchSharpNativeFix=false", "-o", output);
        Assert.AreEqual(0, buildCode, buildLog);
        StringAssert.Contains(buildLog, "the TorchSharp native fix is off (LmuTorchSharpNativeFix=false)");
        var copy = Path.Combine(output, "libLibTorchSharp.so");
        Assert.IsTrue(File.Exists(copy), $"no {copy}");
        // Patching a copy of it still changes entries: the build left it as packaged.
        Assert.IsGreaterThan(0, ElfVersionPatcher.Patch(CopyOf(copy)), "with the fix off the output copy must be left unpatched");

        var (runCode, runLog) = Dotnet(consumer, TimeSpan.FromMinutes(3), Path.Combine(output, "Consumer.dll"));
        Assert.AreNotEqual(0, runCode, runLog);
        StringAssert.Contains(runLog, "System.InvalidOperationException: TorchSharp's native library could not be loaded");
        StringAssert.Contains(runLog, "requires GLIBCXX_3.4.32, which this host's libstdc++ lacks");
        StringAssert.Contains(runLog, "LmuTorchSharpNativeFix=false");
        StringAssert.Contains(runLog, "libtorch-cpu-linux-x64 2.10.0");
        // TorchSharp's own message stays as the inner exception.
        StringAssert.Contains(runLog, "System.NotSupportedException");
    }

    private string CopyOf(string path)
    {
        var copy = Path.Combine(_temp, "copy-" + Guid.NewGuid().ToString("N") + ".so");
        File.Copy(path, copy);
        return copy;
    }

    private static bool HostLacksGlibcxx332()
    {
        var host = new[] { "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6" }.FirstOrDefault(File.Exists);
        return host is not null && !ElfVersionPatcher.ContainsAscii(File.ReadAllBytes(host), ElfVersionPatcher.Version + "\0");
    }

    private static void CheckPackage(string nupkg, string root)
    {
        using var zip = ZipFile.OpenRead(nupkg);
        var names = zip.Entries.Select(e => e.FullName).ToHashSet();
        foreach (var expected in new[] { "README.md", "lib/net10.0/Lmu.MLNet.dll", "lib/net10.0/Lmu.MLNet.xml", "buildTransitive/Lmu.MLNet.targets",
                     "buildTransitive/TorchSharpNativeFix.targets", "buildTransitive/GlibcxxVersionPatch.cs" })
        {
            Assert.Contains(expected, names, $"package entries: {string.Join(", ", names)}");
        }

        using var nuspec = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
        var xml = XDocument.Load(nuspec);
        var ns = xml.Root!.Name.Namespace;
        Assert.AreEqual("README.md", xml.Descendants(ns + "readme").Single().Value);
        // The package's own README (for package users), not the repository's.
        using (var readme = new StreamReader(zip.GetEntry("README.md")!.Open()))
        {
            Assert.AreEqual(File.ReadAllText(Path.Combine(root, "Lmu.MLNet", "README.md")), readme.ReadToEnd(), "the packed README must be Lmu.MLNet/README.md");
        }

        Assert.AreEqual("git", xml.Descendants(ns + "repository").Single().Attribute("type")?.Value);
        Assert.IsFalse(string.IsNullOrWhiteSpace(xml.Descendants(ns + "releaseNotes").SingleOrDefault()?.Value), "release notes");
        Assert.IsFalse(string.IsNullOrWhiteSpace(xml.Descendants(ns + "authors").SingleOrDefault()?.Value), "authors");
        Assert.AreEqual("LICENSE", xml.Descendants(ns + "license").Single().Value);
        var dependencies = xml.Descendants(ns + "dependency").Select(d => d.Attribute("id")!.Value).ToArray();
        CollectionAssert.Contains(dependencies, "TorchSharp");
        CollectionAssert.Contains(dependencies, "Microsoft.ML");
        CollectionAssert.Contains(dependencies, "Microsoft.ML.OnnxTransformer");
        // The native backend (CPU/CUDA, per platform) is the application's choice.
        Assert.IsFalse(dependencies.Any(d => d.StartsWith("libtorch", StringComparison.OrdinalIgnoreCase) || d.StartsWith("TorchSharp-", StringComparison.OrdinalIgnoreCase)),
            $"dependencies: {string.Join(", ", dependencies)}");
    }

    private string WriteConsumer(string root, string feed, string version)
    {
        var consumer = Path.Combine(_temp, "consumer");
        Directory.CreateDirectory(consumer);
        var libtorch = ConsumerProject.PinnedVersions(root)["libtorch-cpu-linux-x64"];
        File.WriteAllText(Path.Combine(consumer, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <!-- Added to the machine's sources (no <clear/>): the local feed holds only Lmu.MLNet. -->
                <add key="lmu-local-feed" value="{feed}" />
              </packageSources>
              <config>
                <add key="signatureValidationMode" value="accept" />
              </config>
            </configuration>
            """);
        ConsumerProject.Write(consumer, [("Lmu.MLNet", version), ("libtorch-cpu-linux-x64", libtorch)]);
        var blocks = ReadmeCSharpBlocks(Path.Combine(root, "Lmu.MLNet", "README.md"));
        Assert.IsGreaterThanOrEqualTo(2, blocks.Count, "the package README's C# blocks");
        // The quick example is a whole program: it runs as written.
        File.WriteAllText(Path.Combine(consumer, "Program.cs"), blocks[0]);
        // The other blocks use the variables the README names before them: compiled as method bodies, one file each
        // (so each block's own using directives must suffice).
        for (var i = 1; i < blocks.Count; i++)
        {
            File.WriteAllText(Path.Combine(consumer, $"ReadmeSnippet{i}.cs"), Snippet(i, blocks[i]));
        }

        return consumer;
    }

    /// <summary>The ```csharp blocks of a markdown file, in order.</summary>
    internal static List<string> ReadmeCSharpBlocks(string path)
    {
        var blocks = new List<string>();
        List<string>? current = null;
        foreach (var line in File.ReadAllLines(path))
        {
            if (current is null)
            {
                if (line.Trim() == "```csharp") current = [];
            }
            else if (line.Trim() == "```")
            {
                blocks.Add(string.Join('\n', current) + "\n");
                current = null;
            }
            else
            {
                current.Add(line);
            }
        }

        Assert.IsNull(current, $"an unterminated C# block in {path}");
        return blocks;
    }

    /// <summary>A README block as the body of a method that has the variables the README says the blocks assume.</summary>
    private static string Snippet(int index, string block)
    {
        var lines = block.Split('\n');
        var usings = lines.Where(l => UsingDirective().IsMatch(l)).ToList();
        var body = lines.Where(l => !UsingDirective().IsMatch(l));
        return string.Join('\n', usings.Prepend("using Microsoft.ML;").Distinct()) + $$"""

            internal static class ReadmeSnippet{{index}}
            {
                public static void Run(MLContext ml, IDataView train, IDataView test, IDataView series)
                {
            {{string.Join('\n', body.Select(l => "        " + l))}}
                }
            }

            """;
    }

    /// <summary>
    /// A package version nobody else uses (no cache holds a stale copy). The "g" keeps the prerelease label
    /// alphanumeric: twelve hex digits can all be decimal with a leading zero ("004984479320", met on 2026-12-05), a
    /// numeric identifier SemVer rejects, and pack failed.
    /// </summary>
    internal static string UniqueTestVersion() => "0.0.0-test.g" + Guid.NewGuid().ToString("N")[..12];

    internal static string GlobalPackages() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p ? p : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    internal static (int Code, string Output) Dotnet(string workingDirectory, TimeSpan limit, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory };
        foreach (var a in args) start.ArgumentList.Add(a);
        // No build servers left running after the test; no first-run banners.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["UseSharedCompilation"] = "false";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"dotnet {string.Join(' ', args)} did not finish within {limit}");
        }

        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    [GeneratedRegex(@"Accuracy: ([0-9.]+)")]
    private static partial Regex AccuracyLine();

    [GeneratedRegex(@"^\s*using\s+[A-Za-z0-9_.]+\s*;")]
    private static partial Regex UsingDirective();
}
