using System.Text.RegularExpressions;
using Lmu.MLNet.Tests.Infrastructure;

namespace Lmu.MLNet.Tests.Reliability;

/// <summary>
/// The short soak: every long native path (classifier parallel and scan, forecaster, experiment, featurizers) fitted
/// twice in a separate process under a thread that collects in a loop and with busy-loop processes oversubscribing
/// the CPUs. Before the fix this crashed within a few fits (2 of 10 in the first run: ExternalException from c10's
/// Scalar.h inside Adam's step); a native crash kills the child, not the test host. The long version is the Samples
/// app's <c>soak</c> command.
/// </summary>
[TestClass]
public sealed partial class SoakTests
{
    [TestMethod]
    [Timeout(900_000, CooperativeCancellation = true)]
    public void EveryLongPathSurvivesGcPressureOnABusyMachine()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Inconclusive("The soak's busy-loop processes need a POSIX shell; run `soak --busy 0` by hand elsewhere.");
        }

        var root = Path.Combine(Path.GetTempPath(), "lmu-soak-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        try
        {
            var (code, output) = SamplesApp.Run(SamplesApp.Output(), root, TimeSpan.FromMinutes(14),
                "soak", "--fits", "2", "--scale", "1", "--busy", "2", "--threads", "2");
            Console.WriteLine(output);
            var summary = Summary().Match(output);
            Assert.IsTrue(summary.Success, $"the soak did not finish (exit {code}; a native crash ends the process without its summary):\n{output}");
            // 2 rounds x 16 workloads: classifier-parallel, classifier-scan, classifier-pooled, classifier-blocked,
            // classifier-checkpointed, classifier-recurrent-blocks, classifier-dense-fixed, classifier-lstm (the parallel
            // form's cell loop), classifier-gru-cell (the cell form, recurrent dropout), forecaster, experiment,
            // featurizers, scoring-dispose (engines and a dispose racing), shared-engine (one engine, four threads),
            // concurrent-fits (two seeded Fits at once, equal), layer-lengths (two threads evicting each other's
            // impulse responses from one layer's bounded cache).
            Assert.AreEqual(32, int.Parse(summary.Groups["fits"].Value), "fits run");
            Assert.AreEqual(0, int.Parse(summary.Groups["crashes"].Value), $"fits that failed under GC pressure:\n{output}");
            Assert.IsGreaterThan(100, long.Parse(summary.Groups["collections"].Value), "the collecting thread must actually have run");
            // The recurrent classifiers' validation scoring runs the two-stage scan's blocked inference under the same pressure.
            Assert.IsGreaterThan(0L, long.Parse(summary.Groups["blocked"].Value), "no blocked inference pass ran in the soak");
            // And their training runs the blocked adjoint (fixed dynamics, chunks of 8 steps).
            Assert.IsGreaterThan(0L, long.Parse(summary.Groups["backward"].Value), "no blocked backward chunk ran in the soak");
            // A recurrent cell of order 48 trains through the blocked forward form, and a Dense cell over a fixed memory
            // through the one-node last step.
            Assert.IsGreaterThan(0L, long.Parse(summary.Groups["training"].Value), "no blocked training pass ran in the soak");
            Assert.IsGreaterThan(0L, long.Parse(summary.Groups["dense"].Value), "no one-node Dense last step ran in the soak");
            Assert.AreEqual(0, code);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [GeneratedRegex(@"soak result: (?<fits>\d+) fits, (?<crashes>\d+) crashes, wall [\d.]+ s, forced collections (?<collections>\d+), blocked inference passes (?<blocked>\d+), blocked backward chunks (?<backward>\d+), blocked training passes (?<training>\d+), one-node Dense last steps (?<dense>\d+)")]
    private static partial Regex Summary();
}
