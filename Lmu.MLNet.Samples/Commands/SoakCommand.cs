using System.CommandLine;
using System.Diagnostics;
using Lmu.MLNet.Samples.Soak;

namespace Lmu.MLNet.Samples.Commands;

/// <summary>
/// <c>soak</c>: fits every long native path many times in a row under a thread that forces collections and with the
/// CPUs oversubscribed by busy-loop processes, and counts the fits that fail. Prints fits, crashes and wall time;
/// exits 1 if any fit failed.
/// </summary>
internal static class SoakCommand
{
    public static Command Create()
    {
        var fits = new Option<int>("--fits") { Description = "Fits of each workload.", DefaultValueFactory = _ => 5 }.Between(1);
        var workloads = new Option<string>("--workloads") { Description = $"Comma-separated workloads: {string.Join(", ", SoakWorkloads.Names)}.", DefaultValueFactory = _ => string.Join(",", SoakWorkloads.Names) }.OneOrMoreOf(SoakWorkloads.Names);
        // Capped: 100,000 started that many processes (found by QA).
        var busy = new Option<int>("--busy") { Description = "Busy-loop processes started beside the fits (0 = none; at most 16 per processor).", DefaultValueFactory = _ => 3 * Environment.ProcessorCount }
            .Between(0, 16 * Environment.ProcessorCount);
        var gc = new Option<bool>("--gc") { Description = "Run the collecting thread (GC.Collect + WaitForPendingFinalizers in a loop); on by default, --gc false turns it off.", DefaultValueFactory = _ => true };
        var threads = new Option<int>("--threads") { Description = "Torch intra-op threads per fit.", DefaultValueFactory = _ => 2 };
        var scale = new Option<int>("--scale") { Description = "Multiplies rows and epochs of every workload (1 is the test suite's short soak).", DefaultValueFactory = _ => 2 }.Between(1);
        var seed = new Option<int>("--seed") { Description = "Seed of the first fit (fit k uses seed + k).", DefaultValueFactory = _ => 1 };
        var cmd = new Command("soak", "Fits the classifier (parallel and scan), forecaster, experiment and featurizers repeatedly under GC pressure and CPU oversubscription; prints fits, crashes, wall time.")
        {
            fits, workloads, busy, gc, threads, scale, seed,
        };
        cmd.SetAction(r => Run(
            r.GetValue(fits), r.GetValue(workloads)!, r.GetValue(busy), r.GetValue(gc), r.GetValue(threads), r.GetValue(scale), r.GetValue(seed)));
        return cmd;
    }

    private static int Run(int fits, string workloadList, int busy, bool gc, int threads, int scale, int seed)
    {
        var names = workloadList.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        // --fits, --scale, --busy, --threads and --workloads are checked when the command line is read.
        var clock = Stopwatch.StartNew();
        // The cap only guards against a soak that hangs; the loops stop as soon as this process ends.
        using var load = new BusyLoad(busy, TimeSpan.FromHours(2));
        using var pressure = gc ? new GcPressure() : null;
        Console.WriteLine($"soak: {fits} fit(s) x [{string.Join(", ", names)}], {load.Count} busy process(es) on {Environment.ProcessorCount} CPU(s), " +
                          $"collecting thread {(gc ? "on" : "off")}, torch threads {threads}, scale {scale}");
        int done = 0, crashes = 0;
        for (var k = 0; k < fits; k++)
        {
            foreach (var name in names)
            {
                var fit = Stopwatch.StartNew();
                try
                {
                    var summary = SoakWorkloads.Run(name, seed + k, threads, scale);
                    Console.WriteLine($"  fit {k + 1}/{fits} {name,-19} ok     {fit.Elapsed.TotalSeconds,6:F1} s  {summary}");
                }
                catch (Exception e)
                {
                    crashes++;
                    Console.WriteLine($"  fit {k + 1}/{fits} {name,-19} CRASH  {fit.Elapsed.TotalSeconds,6:F1} s  {e.GetType().Name}: {e.Message.Split('\n')[0]}");
                    Console.Error.WriteLine(e);
                }

                done++;
            }
        }

        Console.WriteLine($"soak result: {done} fits, {crashes} crashes, wall {clock.Elapsed.TotalSeconds:F1} s, forced collections {pressure?.Collections ?? 0}, " +
                          $"blocked inference passes {Lmu.MLNet.Modules.TwoStageScanLastFunction.BlockedPasses}, " +
                          $"blocked backward chunks {Lmu.MLNet.Modules.TwoStageScanLastFunction.BlockedBackwardChunks}, " +
                          $"blocked training passes {Lmu.MLNet.Modules.TwoStageScanLastFunction.BlockedTrainingPasses}, " +
                          $"one-node Dense last steps {Lmu.MLNet.Modules.DenseLastFunction.Calls}, " +
                          $"folded Dense last steps {Lmu.MLNet.Modules.LmuLayer.FoldedDenseLastCalls}, " +
                          $"folded Dense inference calls {Lmu.MLNet.Modules.LmuLayer.FoldedInferenceCalls}, " +
                          $"managed scan steps {Lmu.MLNet.Modules.ScanKernel.Steps}");
        return crashes == 0 ? 0 : 1;
    }
}
