using System.Globalization;
using System.Text.Json;

namespace Lmu.MLNet.Samples.Bench;

/// <summary>
/// The <c>bench</c> command: ours and the PyTorch peer sampled in turn in one invocation (see <see cref="Interleaving"/>),
/// warm-up excluded; per side and for the per-round ratio the median and interquartile range; a verdict per
/// configuration that only calls a side faster when the two ranges do not overlap; the machine (CPU, load, both
/// libraries' matmul and copy rates) and the peak memory one training step adds on each side.
/// </summary>
internal static class LmuBenchmark
{
    /// <summary>Bench settings (see the command's options).</summary>
    public sealed record Settings(int Threads, int Samples, int Warmup, IReadOnlyList<string> Configs, int Steps, int Batch,
        bool RunPeer, string? PeerScript, string? JsonPath, bool Deployed = false, int CallsPerSample = 0, double SettleSeconds = 3);

    /// <summary>Seconds per call of both sides for one operation, one value per sample of <paramref name="Calls"/> calls.</summary>
    public sealed record Series(double[] Ours, double[] Peer, int Calls = 1);

    /// <summary>
    /// With <see cref="Settings.CallsPerSample"/> 0, each sample runs enough calls back to back for about this long.
    /// Why: a call of a millisecond or less, sampled alone right after the other side's process ran, first reloads
    /// its weights and data into the caches the other process used (ff_dense's training step: 1.2-1.3 ms in a loop of
    /// its own, 1.5-2.0 ms interleaved one call at a time with the peer, 2026-12-06); a training loop or a scoring
    /// service runs its calls back to back. Both sides get the same number of calls.
    /// </summary>
    internal const double AutoSampleSeconds = 0.02;

    /// <summary>Most calls per sample in the automatic choice.</summary>
    internal const int MaxAutoCalls = 64;

    /// <summary>One configuration's results.</summary>
    public sealed record ConfigResult(string Config, Series Train, Series Infer, long OursTrainPeakKb, long PeerTrainPeakKb,
        long OursInferPeakKb, long PeerInferPeakKb, Series? Deployed = null, long DeployedInferPeakKb = -1, Series? Pipeline = null,
        long OursInferAgainPeakKb = -1);

    public static int Run(Settings s)
    {
        if (s.JsonPath is not null && !Cli.PartialOutputFile.IsStream(s.JsonPath))
        {
            // Before the bench, not after its minutes (files QA: a folder or a missing folder failed only at the end). A
            // stream (/dev/stdout into a pipe) is written directly at the end.
            Cli.PartialOutputFile.CheckWritable(s.JsonPath, "--json");
            Cli.PartialOutputFile.TargetFile(s.JsonPath, "Could not write --json");
        }

        Console.WriteLine($"bench {MachineInfo.Now()}: {MachineInfo.Cpu()}");
        Console.WriteLine($"load average at start: {MachineInfo.LoadAverage()}; torch threads {s.Threads} on both sides; " +
                          $"{s.Samples} samples per side after {s.Warmup} warm-up round(s), " +
                          (s.CallsPerSample > 0 ? $"{s.CallsPerSample} call(s) per sample" : $"each sample the mean of enough back-to-back calls for about {AutoSampleSeconds * 1000:F0} ms") +
                          $"; batch {s.Batch}, T {s.Steps}; " +
                          $"scan: every state kept up to {Lmu.MLNet.Modules.LinearScanLastFunction.KeepAllBytes >> 20} MiB, else a checkpoint every " +
                          $"{Lmu.MLNet.Modules.LinearScanLastFunction.CheckpointInterval} (fused) / {Lmu.MLNet.Modules.TwoStageScanLastFunction.CheckpointInterval} (two-stage) steps (0: all kept); recurrent cell step: " +
                          (Lmu.MLNet.Modules.LmuLayer.TwoStageScan ? "two-stage (memory, then hidden)" : "fused [D, D]") +
                          (Lmu.MLNet.Modules.LmuLayer.TwoStageScan && Lmu.MLNet.Modules.TwoStageScanLastFunction.UseBlocks
                              ? $", inference in blocks of {Lmu.MLNet.Modules.TwoStageScanLastFunction.BlockLength} steps" : ", inference step by step") +
                          "; hidden input from a feed-forward memory: " +
                          (Lmu.MLNet.Modules.LmuLayer.BlockedProjection ? $"blocks of {Lmu.MLNet.Modules.LmuLayer.BlockSteps} steps" : "FFT convolution"));
        using var ours = new OursSide(s.Threads);
        string reason = "skipped (--no-peer)";
        using var peer = s.RunPeer ? PeerDriver.Start(s.PeerScript, s.Threads, out reason) : null;
        if (peer is null) Console.WriteLine($"peer: {reason}");

        var ceilings = Ceilings(ours, peer);
        var results = new List<ConfigResult>();
        foreach (var config in s.Configs)
        {
            ours.Setup(config, s.Steps, s.Batch, seed: 0);
            peer?.Setup(config, s.Steps, s.Batch, seed: 0);
            var train = Sample(config, "train", ours, peer, (x, n) => x.Train(n), s);
            var infer = Sample(config, "infer", ours, peer, (x, n) => x.Infer(n), s);
            // Peak memory after the timed samples, one call each: a step's working set does not vary between calls.
            var (oursTrainKb, peerTrainKb) = (ours.TrainWithMemory().PeakKb, peer?.TrainWithMemory().PeakKb ?? -1);
            // Two inference calls: the first after a training step forms what inference derives from the weights (a folded
            // kernel, a blocked plan); the second, with the same weights, reuses it, as a scoring service's calls do.
            var (oursInferKb, peerInferKb) = (ours.InferWithMemory().PeakKb, peer?.InferWithMemory().PeakKb ?? -1);
            long oursInferAgainKb = ours.InferWithMemory().PeakKb;
            var result = new ConfigResult(config, train, infer, oursTrainKb, peerTrainKb, oursInferKb, peerInferKb, OursInferAgainPeakKb: oursInferAgainKb);
            if (s.Deployed)
            {
                // The same trained weights (after the timed training steps) and the same batch, scored by ONNX Runtime
                // (the standalone batched graph) and through an ML.NET pipeline (OnnxTransformer, one row per run).
                var expected = ours.Outputs();
                using var deployed = new OnnxDeployedSide(s.Threads);
                deployed.Load(ours.Network, ours.InputValues(), s.Batch, s.Steps);
                CheckSameOutputs(config, "ONNX Runtime", expected, deployed.Outputs());
                var series = Sample(config, "infer, ONNX Runtime", deployed, peer, (x, n) => x.Infer(n), s);
                result = result with { Deployed = series, DeployedInferPeakKb = deployed.InferWithMemory().PeakKb };

                using var pipeline = new MlNetDeployedSide(s.Threads);
                pipeline.Load(ours.Network, ours.InputValues(), s.Batch, s.Steps);
                CheckSameOutputs(config, "ML.NET pipeline", expected, pipeline.Outputs());
                result = result with { Pipeline = Sample(config, "infer, ML.NET pipeline", pipeline, peer, (x, n) => x.Infer(n), s) };
            }
            results.Add(result);
        }
        var ceilingsEnd = Ceilings(ours, peer);

        Console.WriteLine();
        Console.WriteLine($"load average at end: {MachineInfo.LoadAverage()}");
        Console.WriteLine($"matmul 1024² float32 GFLOP/s (start, end): ours {ceilings.OursGflops:F1}, {ceilingsEnd.OursGflops:F1}" +
                          (peer is null ? "" : $"; peer (torch {peer.TorchVersion}) {ceilings.PeerGflops:F1}, {ceilingsEnd.PeerGflops:F1}"));
        Console.WriteLine($"copy 64 MiB GB/s (read + write, start, end): ours {ceilings.OursGBs:F1}, {ceilingsEnd.OursGBs:F1}" +
                          (peer is null ? "" : $"; peer {ceilings.PeerGBs:F1}, {ceilingsEnd.PeerGBs:F1}"));
        Console.WriteLine();
        PrintTimes(results, peer is not null);
        Console.WriteLine();
        PrintMemory(results, peer);
        if (s.JsonPath is not null) WriteJson(s, results, ceilings, ceilingsEnd, peer);
        return 0;
    }

    /// <summary>Both sides' 1024² matmul and 64 MiB copy rates, measured interleaved.</summary>
    public static (double OursGflops, double PeerGflops, double OursGBs, double PeerGBs) Ceilings(IBenchSide ours, IBenchSide? peer)
    {
        double og = ours.MatmulGflops(1024, 10), pg = peer?.MatmulGflops(1024, 10) ?? double.NaN;
        double ob = ours.CopyGBs(64, 10), pb = peer?.CopyGBs(64, 10) ?? double.NaN;
        return (og, pg, ob, pb);
    }

    internal static Series Sample(string config, string what, IBenchSide ours, IBenchSide? peer, Func<IBenchSide, int, double> op, Settings s)
    {
        Settle(ours, op, s.SettleSeconds);
        int calls = s.CallsPerSample > 0 ? s.CallsPerSample : AutoCalls(ours, op);
        string each = calls > 1 ? $" (mean of {calls} calls)" : "";
        var (o, p) = Interleaving.Run(ours, peer, x => op(x, calls), s.Warmup, s.Samples, (i, a, b) =>
            Console.WriteLine(FormattableString.Invariant($"  {config} {what} #{i + 1}{each}: ours {a:F4}s") +
                              (b is double v ? FormattableString.Invariant($", peer {v:F4}s, ratio {a / v:F2}") : "")));
        return new Series(o, p, calls);
    }

    /// <summary>
    /// Calls per sample for about <see cref="AutoSampleSeconds"/>, from the median of ours' calls 2-4 (the first warms).
    /// Why three: one timed call of ff_dense's 1.3 ms step took 3-4 ms now and then (a fresh allocation, a neighbour's
    /// burst), which chose 5 calls per sample instead of 15, so the cold first call of each sample weighed three times
    /// as much in one run as in the next (2026-12-06: ratios 0.55 and 0.72 for the same build).
    /// </summary>
    /// <summary>
    /// Runs ours alone for at least <paramref name="seconds"/> (and 3 calls; 0: not at all) before anything is timed, so that the .NET
    /// runtime has recompiled the managed kernels (Adam, the small scans, the Dense node) at full optimisation. The
    /// runtime starts counting calls for that only after 100 ms without new methods compiled, so two warm-up rounds
    /// were not enough on a step of ~1 ms: on the Intel Xeon VM (2026-12-07) ff_dense's training step took 3.4-3.8 ms for
    /// the first 7 and 11 samples of two runs and 1.1-1.8 ms after, which made its median ratio 0.31 in one run and 0.67
    /// in the next. The peer (CPython over libtorch) has no such phase; it keeps its warm-up rounds.
    /// </summary>
    internal static void Settle(IBenchSide ours, Func<IBenchSide, int, double> op, double seconds)
    {
        if (seconds <= 0)
        {
            return;
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var n = 0; n < 3 || clock.Elapsed.TotalSeconds < seconds; n++)
        {
            op(ours, 1);
        }
    }

    private static int AutoCalls(IBenchSide ours, Func<IBenchSide, int, double> op)
    {
        op(ours, 1);
        double[] timed = [op(ours, 1), op(ours, 1), op(ours, 1)];
        Array.Sort(timed);
        double seconds = timed[1];
        return Math.Clamp((int)Math.Ceiling(AutoSampleSeconds / Math.Max(seconds, 1e-6)), 1, MaxAutoCalls);
    }

    /// <summary>A deployed form must compute the network's numbers before it is timed: otherwise its row times nothing of ours.</summary>
    private static void CheckSameOutputs(string config, string form, float[] expected, float[] actual)
    {
        double diff = expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max();
        Console.WriteLine(FormattableString.Invariant($"  {config} {form} against TorchSharp, max |output difference|: {diff:E2}"));
        if (expected.Length != actual.Length || !(diff < 1e-3))
            throw new InvalidOperationException($"{config}: the {form} outputs ({actual.Length} values) differ from the network's ({expected.Length}) by {diff} (more than 1e-3).");
    }

    /// <summary>"ours faster" / "peer faster" only when the interquartile ranges do not overlap.</summary>
    public static string Verdict(SampleStats ours, SampleStats peer) =>
        !SampleStats.Separable(ours, peer) ? "not separable" : ours.Median < peer.Median ? "ours faster" : "peer faster";

    /// <summary>Whether ours is at most half the peer: the ratio's whole interquartile range at or below 0.5.</summary>
    public static string HalfTarget(SampleStats ratio) => ratio.Q3 <= 0.5 ? "yes" : ratio.Q1 > 0.5 ? "no" : "unclear";

    private static void PrintTimes(List<ConfigResult> results, bool withPeer)
    {
        Console.WriteLine("Seconds per training step / inference batch: median [interquartile range]; ratio = ours / peer per round; " +
                          "(mean of N): each sample N calls back to back.");
        Console.WriteLine();
        Console.WriteLine("| config | what | ours (s) | peer (s) | ratio | verdict | ratio <= 0.5 |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var r in results)
        {
            var rows = new List<(string, Series)> { ("train", r.Train), ("infer", r.Infer) };
            if (r.Deployed is not null) rows.Add(("infer, ONNX Runtime", r.Deployed));
            if (r.Pipeline is not null) rows.Add(("infer, ML.NET pipeline", r.Pipeline));
            foreach (var (name, series) in rows)
            {
                string what = series.Calls > 1 ? $"{name} (mean of {series.Calls})" : name;
                var o = SampleStats.Of(series.Ours);
                if (!withPeer)
                {
                    Console.WriteLine($"| {r.Config} | {what} | {o.Format("F4")} | n/a | n/a | n/a | n/a |");
                    continue;
                }
                var p = SampleStats.Of(series.Peer);
                var ratio = SampleStats.Of(Interleaving.Ratios(series.Ours, series.Peer));
                Console.WriteLine($"| {r.Config} | {what} | {o.Format("F4")} | {p.Format("F4")} | {ratio.Format("F2")} | {Verdict(o, p)} | {HalfTarget(ratio)} |");
            }
        }
    }

    private static void PrintMemory(List<ConfigResult> results, PeerDriver? peer)
    {
        if (!ProcessMemory.Supported)
        {
            Console.WriteLine("Per-step memory: not measurable on this OS.");
            return;
        }
        Console.WriteLine("Peak resident memory one call adds above the trimmed process (MiB):");
        Console.WriteLine();
        Console.WriteLine("| config | ours train | peer train | train ratio | ours infer, after a training step | ours infer, same weights again | peer infer |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        static string MiB(long kb) => kb < 0 ? "n/a" : (kb / 1024.0).ToString("F1", CultureInfo.InvariantCulture);
        foreach (var r in results)
        {
            string ratio = r.PeerTrainPeakKb > 0 ? (r.OursTrainPeakKb / (double)r.PeerTrainPeakKb).ToString("F2", CultureInfo.InvariantCulture) : "n/a";
            Console.WriteLine($"| {r.Config} | {MiB(r.OursTrainPeakKb)} | {MiB(r.PeerTrainPeakKb)} | {ratio} | {MiB(r.OursInferPeakKb)} | {MiB(r.OursInferAgainPeakKb)} | {MiB(r.PeerInferPeakKb)} |");
        }
        foreach (var r in results.Where(r => r.Deployed is not null))
            Console.WriteLine($"ONNX Runtime inference, {r.Config}: {MiB(r.DeployedInferPeakKb)} MiB one call adds (its session and graph are loaded before).");
        Console.WriteLine();
        Console.WriteLine($"Whole-process peak resident memory (runtime and libraries included): ours {MiB(ProcessMemory.ProcessPeakKb)} MiB" +
                          (peer is null ? "" : $", peer {MiB(peer.ProcessPeakKb)} MiB"));
    }

    private static void WriteJson(Settings s, List<ConfigResult> results,
        (double OursGflops, double PeerGflops, double OursGBs, double PeerGBs) start,
        (double OursGflops, double PeerGflops, double OursGBs, double PeerGBs) end, PeerDriver? peer)
    {
        var doc = new
        {
            date = MachineInfo.Now(), cpu = MachineInfo.Cpu(), load_end = MachineInfo.LoadAverage(), s.Threads, s.Samples, s.Warmup,
            s.Steps, s.Batch, peer_torch = peer?.TorchVersion,
            ours_gflops = new[] { start.OursGflops, end.OursGflops }, peer_gflops = new[] { start.PeerGflops, end.PeerGflops },
            ours_copy_gbs = new[] { start.OursGBs, end.OursGBs }, peer_copy_gbs = new[] { start.PeerGBs, end.PeerGBs },
            configs = results.Select(r => new
            {
                r.Config, train_ours = r.Train.Ours, train_peer = r.Train.Peer, infer_ours = r.Infer.Ours, infer_peer = r.Infer.Peer,
                train_calls = r.Train.Calls, infer_calls = r.Infer.Calls, infer_onnx_calls = r.Deployed?.Calls, infer_pipeline_calls = r.Pipeline?.Calls,
                r.OursTrainPeakKb, r.PeerTrainPeakKb, r.OursInferPeakKb, r.OursInferAgainPeakKb, r.PeerInferPeakKb,
                infer_onnx_ours = r.Deployed?.Ours, infer_onnx_peer = r.Deployed?.Peer, r.DeployedInferPeakKb,
                infer_pipeline_ours = r.Pipeline?.Ours, infer_pipeline_peer = r.Pipeline?.Peer,
            }),
        };
        // All or nothing: a full disk cut the earlier JSON short (files QA).
        var json = JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals });
        // Standard output through the console's own writer, after the lines before it (opening /dev/stdout again wrote at
        // another offset of a redirected file than the console's, over those lines; review); another stream is appended to.
        if (Cli.StandardOutputTarget.Is(s.JsonPath))
        {
            Console.Out.WriteLine(json);
            Console.Out.Flush();
        }
        else
        {
            Cli.PartialOutputFile.WriteFile(s.JsonPath!, path => (Cli.PartialOutputFile.IsStream(path) ? (Action<string, string?>)File.AppendAllText : File.WriteAllText)(path, json), streamable: true);
        }
        Console.WriteLine($"wrote {s.JsonPath}");
    }
}
