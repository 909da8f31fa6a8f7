using System.Diagnostics;
using System.IO.Compression;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>
/// PACKAGE TEST (slowest test of the suite, about a minute): <c>dotnet pack</c> makes the Lmu.MLNet package (readme,
/// symbols, buildTransitive native fix, managed dependencies only), and a fresh consumer project generated in a temp
/// folder restores it from a local folder feed (added to the machine's sources, not replacing them), trains a tiny LMU
/// classifier, saves, loads and predicts. Everything else restores from the local package cache.
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

        var root = RepositoryRoot();
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Parent!.Name; // bin/<config>/net10.0/<rid>
        // A version nobody else uses, so the global package cache cannot hold a stale copy; removed afterwards.
        var version = "0.0.0-test." + Guid.NewGuid().ToString("N")[..12];
        var feed = Path.Combine(_temp, "feed");
        try
        {
            var (packCode, packLog) = Dotnet(root, TimeSpan.FromMinutes(3), "pack", Path.Combine(root, "Lmu.MLNet", "Lmu.MLNet.csproj"), "-c", configuration,
                "--no-build", "-o", feed, $"-p:PackageVersion={version}");
            Assert.AreEqual(0, packCode, packLog);
            CheckPackage(Path.Combine(feed, $"Lmu.MLNet.{version}.nupkg"));
            using (var symbols = ZipFile.OpenRead(Path.Combine(feed, $"Lmu.MLNet.{version}.snupkg")))
            {
                Assert.IsTrue(symbols.Entries.Any(e => e.FullName == "lib/net10.0/Lmu.MLNet.pdb"), "the symbol package must carry the pdb");
            }

            var consumer = WriteConsumer(root, feed, version);
            var (runCode, runLog) = Dotnet(consumer, TimeSpan.FromMinutes(6), "run", "-c", "Release");
            Assert.AreEqual(0, runCode, runLog);
            StringAssert.Contains(runLog, "consumer: reloaded predictions equal the trained model's");
            var accuracy = double.Parse(AccuracyLine().Match(runLog).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            // Two well-separated classes (rising vs falling ramps): a working LMU learns them; chance is 0.5.
            Assert.IsGreaterThanOrEqualTo(0.9, accuracy, runLog);
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

    private static void CheckPackage(string nupkg)
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
        var libtorch = XDocument.Load(Path.Combine(root, "Directory.Packages.props")).Descendants("PackageVersion")
            .Single(p => p.Attribute("Include")!.Value == "libtorch-cpu-linux-x64").Attribute("Version")!.Value;
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
        File.WriteAllText(Path.Combine(consumer, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <RuntimeIdentifier>linux-x64</RuntimeIdentifier>
                <SelfContained>false</SelfContained>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Lmu.MLNet" Version="{version}" />
                <PackageReference Include="libtorch-cpu-linux-x64" Version="{libtorch}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(consumer, "Program.cs"), ConsumerProgram);
        return consumer;
    }

    /// <summary>What a user writes: rows of flattened sequences, the catalog extension, Save/Load, a PredictionEngine.</summary>
    private const string ConsumerProgram = """
        using System.Globalization;
        using Lmu.MLNet.MLNet.Classification;
        using Lmu.MLNet.Modules;
        using Microsoft.ML;
        using Microsoft.ML.Data;

        TorchSharp.torch.set_num_threads(1);
        var ml = new MLContext(seed: 1);
        var rng = new Random(5);
        var rows = Enumerable.Range(0, 64).Select(i =>
        {
            var up = i % 2 == 0;
            return new Row
            {
                Label = up ? "rising" : "falling",
                Features = Enumerable.Range(0, 16).Select(t => (float)((up ? t : 15 - t) / 8.0 - 1 + 0.2 * (rng.NextDouble() - 0.5))).ToArray(),
            };
        }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var model = ml.Transforms.LmuClassifier(new LmuClassifierOptions
        {
            Layer = new LmuLayerOptions { Order = 8, HiddenCell = HiddenCell.Dense, HiddenUnits = 16 },
            Training = new() { Epochs = 15, BatchSize = 16, LearningRate = 1e-2, Seed = 3 },
        }).Fit(data);
        var scored = model.Transform(data);
        var scores = scored.GetColumn<float[]>("Score").ToArray();
        ml.Model.Save(model, data.Schema, "consumer.zip");
        var loaded = new MLContext().Model.Load("consumer.zip", out _);
        var engine = ml.Model.CreatePredictionEngine<Row, Prediction>(loaded);
        var correct = 0;
        var same = true;
        VBuffer<ReadOnlyMemory<char>> names = default;
        scored.Schema["PredictedLabel"].GetKeyValues(ref names);
        var classes = names.DenseValues().Select(n => n.ToString()).ToArray();
        for (var i = 0; i < rows.Count; i++)
        {
            var p = engine.Predict(rows[i]);
            same &= p.Score.SequenceEqual(scores[i]);
            correct += classes[(int)p.PredictedLabel - 1] == rows[i].Label ? 1 : 0;
        }

        Console.WriteLine("consumer: accuracy " + (correct / (double)rows.Count).ToString("0.0000", CultureInfo.InvariantCulture));
        Console.WriteLine(same ? "consumer: reloaded predictions equal the trained model's" : "consumer: reloaded predictions DIFFER");
        return same ? 0 : 1;

        internal sealed class Row
        {
            public string Label { get; set; } = "";
            [VectorType(16)]
            public float[] Features { get; set; } = [];
        }

        internal sealed class Prediction
        {
            public uint PredictedLabel { get; set; }
            public float[] Score { get; set; } = [];
        }
        """;

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Lmu.MLNet.sln"))) return dir.FullName;
        }

        Assert.Fail($"no Lmu.MLNet.sln above {AppContext.BaseDirectory}");
        return string.Empty;
    }

    private static string GlobalPackages() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p ? p : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    private static (int Code, string Output) Dotnet(string workingDirectory, TimeSpan limit, params string[] args)
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

    [GeneratedRegex(@"consumer: accuracy ([0-9.]+)")]
    private static partial Regex AccuracyLine();
}
