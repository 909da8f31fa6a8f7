using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Classification;

/// <summary>
/// A model saved here is loaded and scored in a NEW PROCESS (the Samples app's predict command) from a copy of the
/// app's output folder without any libtorch native library, and gives bit-identical scores.
/// </summary>
[TestClass]
public sealed class CrossProcessScoringTests : ClassifierTestBase
{
    /// <summary>Native files of the torch backend (libtorch, c10, the TorchSharp bridge and torch's OpenMP runtime).</summary>
    private static readonly string[] TorchNativePrefixes = ["libtorch", "libc10", "libLibTorchSharp", "libgomp", "libshm"];

    [TestMethod]
    public void ASavedModelScoresIdenticallyInANewProcessWithoutLibtorch()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var data = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(96, 31));
        var rows = DelayedPatternData.Rows(25, 32);
        var zip = Path.Combine(Temp, "m.zip");
        float[][] expected;
        uint[] expectedKeys;
        using (var model = ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 2)).Fit(data))
        {
            var scored = model.Transform(ml.Data.LoadFromEnumerable(rows));
            expected = scored.GetColumn<float[]>("Score").ToArray();
            expectedKeys = scored.GetColumn<uint>("PredictedLabel").ToArray();
            ml.Model.Save(model, data.Schema, zip);
        }

        var input = Path.Combine(Temp, "rows.csv");
        File.WriteAllLines(input, rows.Select(r => string.Join(',', r.Features.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))));
        var app = CopyWithoutTorch(SamplesOutput(), Path.Combine(Temp, "app"));
        var output = Path.Combine(Temp, "scores.csv");

        var (code, stdout) = RunDotnet(app, "predict", "--model", zip, "--input", input, "--output", output);
        Assert.AreEqual(0, code, stdout);
        StringAssert.Contains(stdout, "libtorch loaded: no");

        var lines = File.ReadAllLines(output);
        Assert.HasCount(rows.Count, lines);
        for (var i = 0; i < rows.Count; i++)
        {
            var parts = lines[i].Split(',');
            var scores = parts[..^1].Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            CollectionAssert.AreEqual(expected[i], scores, $"row {i}: scores must be bit-identical across processes");
            Assert.AreEqual(expectedKeys[i], uint.Parse(parts[^1], CultureInfo.InvariantCulture), $"row {i} key");
        }
    }

    /// <summary>The Samples app's build output for this configuration (built first through a ProjectReference).</summary>
    private static string SamplesOutput()
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

    private static string CopyWithoutTorch(string source, string target)
    {
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

    private static (int Code, string Output) RunDotnet(string appDir, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(appDir, "Lmu.MLNet.Samples.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        // No library search path that could lead to a libtorch elsewhere on the machine.
        start.Environment.Remove("LD_LIBRARY_PATH");
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("predict did not finish within 2 minutes");
        }

        return (process.ExitCode, stdout + stderr.Result);
    }
}
