using System.Diagnostics;
using Lmu.MLNet.Tests.Infrastructure;
using Lmu.MLNet.Tests.MLNet.Classification;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>
/// <c>bench-curve</c> makes its output folder when it writes its results: an interrupted run left an empty folder
/// behind (found by QA), and a folder that cannot be made still fails before any sampling.
/// </summary>
[TestClass]
public sealed class BenchCurveCommandTests : ClassifierTestBase
{
    [TestMethod]
    public void NoOutputFolderExistsWhileSamplingAndABadOneFailsFirst()
    {
        // A copy with no shared/ above it: no peer, so the run is ours alone.
        var app = SamplesApp.Copy(SamplesApp.Output(), Path.Combine(Temp, "app"));
        // Nested: the parents it would make must not be left either (review).
        var top = Path.Combine(Temp, "curve");
        var output = Path.Combine(top, "x", "y");
        var start = SamplesApp.StartInfo(app, Temp, "bench-curve", "--configs", "ff_dense", "--lengths", "8", "--batches", "2",
            "--fixed-batch", "2", "--fixed-length", "8", "--samples", "100000", "--output", output);
        using var process = Process.Start(start)!;
        try
        {
            var seen = string.Empty;
            var clock = Stopwatch.StartNew();
            while (!seen.Contains("| config |", StringComparison.Ordinal))
            {
                var line = process.StandardOutput.ReadLine();
                Assert.IsNotNull(line, $"bench-curve ended before sampling: {seen}{process.StandardError.ReadToEnd()}");
                Assert.IsTrue(clock.Elapsed < TimeSpan.FromMinutes(2), "bench-curve did not start sampling within 2 minutes");
                seen += line + "\n";
            }

            Thread.Sleep(500);
            Assert.IsFalse(process.HasExited, "the sampling should still be running");
            Assert.IsFalse(Directory.Exists(top), "the output folder (or a parent) was made before there was anything to write");
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }

        Assert.IsFalse(Directory.Exists(top), "an interrupted run left its output folder or a parent of it");

        // An --output under a file cannot be made: refused at the start, as before.
        var file = Path.Combine(Temp, "a-file");
        File.WriteAllText(file, "x");
        var (code, log) = SamplesApp.Run(app, Temp, TimeSpan.FromMinutes(1), "bench-curve", "--configs", "ff_dense", "--output", Path.Combine(file, "curve"));
        Assert.AreNotEqual(0, code, log);
        Assert.DoesNotContain("| config |", log, "nothing may be sampled before the refusal");
    }
}
