using System.Globalization;
using System.Text.Json;
using Lmu.MLNet.Samples.Plots;

namespace Lmu.MLNet.Samples.Bench;

/// <summary>
/// The <c>bench-curve</c> command: seconds per training step and the peak memory one step adds, ours and the peer
/// interleaved at each point, against T at a fixed batch and against the batch at a fixed T (or the full grid), with
/// the machine's matmul and copy ceilings, as a table, a JSON file and a PNG.
/// </summary>
internal static class CostCurve
{
    /// <summary>Curve settings (see the command's options).</summary>
    public sealed record Settings(int Threads, int Samples, IReadOnlyList<string> Configs, IReadOnlyList<int> Lengths,
        IReadOnlyList<int> Batches, int FixedBatch, int FixedLength, bool FullGrid, string? PeerScript, string Output);

    /// <summary>Seconds ours trains alone at each point before it is timed (<see cref="LmuBenchmark.Settle"/>).</summary>
    private const double SettleSeconds = 3;

    public static int Run(Settings s)
    {
        // The folder is tried at the start (a bad --output fails before the hours of sampling) and made again when the
        // results are written, so an interrupted run leaves no empty folder behind (found by QA).
        // The topmost folder this makes (review: deleting the leaf alone left the parents of a nested --output).
        var full = Path.GetFullPath(s.Output);
        var topmostNew = (string?)null;
        for (var dir = (string?)full; dir is not null && !Directory.Exists(dir); dir = Path.GetDirectoryName(dir))
        {
            topmostNew = dir;
        }

        Directory.CreateDirectory(s.Output);
        if (topmostNew is not null)
        {
            Directory.Delete(topmostNew, recursive: true);
        }

        Console.WriteLine($"bench-curve {MachineInfo.Now()}: {MachineInfo.Cpu()}; load average at start {MachineInfo.LoadAverage()}; torch threads {s.Threads}; {s.Samples} samples per point and side after one warm-up (ours settled {SettleSeconds} s first)");
        using var ours = new OursSide(s.Threads);
        using var peer = PeerDriver.Start(s.PeerScript, s.Threads, out var reason);
        if (peer is null) Console.WriteLine($"peer: {reason}");
        var ceilings = LmuBenchmark.Ceilings(ours, peer);
        Console.WriteLine(FormattableString.Invariant($"ceilings: matmul 1024² ours {ceilings.OursGflops:F1} GFLOP/s, peer {ceilings.PeerGflops:F1}; copy 64 MiB ours {ceilings.OursGBs:F1} GB/s, peer {ceilings.PeerGBs:F1}"));

        var grid = new List<(int T, int B)>();
        foreach (var t in s.Lengths)
            foreach (var b in s.Batches)
                if (s.FullGrid || b == s.FixedBatch || t == s.FixedLength) grid.Add((t, b));

        var points = new List<CostCurvePlot.Point>();
        Console.WriteLine("| config | T | batch | ours step (s) | peer step (s) | ratio | ours MiB | peer MiB |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        foreach (var config in s.Configs)
        {
            foreach (var (t, b) in grid)
            {
                ours.Setup(config, t, b, seed: 0);
                peer?.Setup(config, t, b, seed: 0);
                // As the bench does: ours' managed kernels run unoptimised until the runtime recompiles them, and one
                // warm-up was not enough for short steps (2026-12-07, Intel Xeon VM: ff_dense's step took 5.3 ms at T 196
                // and 2.7 ms at T 1568, the first points timed before the recompilation).
                LmuBenchmark.Settle(ours, (side, calls) => side.Train(calls), SettleSeconds);
                var oursPeak = new List<long>();
                var peerPeak = new List<long>();
                // The memory measurement trims the heap and resets the high-water mark before each sample; the time
                // is taken inside it, around the step alone.
                var (o, p) = Interleaving.Run(ours, peer, side =>
                {
                    var (sec, kb) = side.TrainWithMemory();
                    (ReferenceEquals(side, ours) ? oursPeak : peerPeak).Add(kb);
                    return sec;
                }, warmup: 1, s.Samples);
                double om = oursPeak.Skip(1).DefaultIfEmpty(-1).Max() / 1024.0, pm = peerPeak.Skip(1).DefaultIfEmpty(-1).Max() / 1024.0;
                var os = SampleStats.Of(o);
                points.Add(new(config, "ours", t, b, os.Median, om));
                string peerText = "n/a", ratio = "n/a";
                if (peer is not null)
                {
                    var ps = SampleStats.Of(p);
                    points.Add(new(config, "peer", t, b, ps.Median, pm));
                    peerText = ps.Median.ToString("F4", CultureInfo.InvariantCulture);
                    ratio = SampleStats.Of(Interleaving.Ratios(o, p)).Median.ToString("F2", CultureInfo.InvariantCulture);
                }
                Console.WriteLine(FormattableString.Invariant($"| {config} | {t} | {b} | {os.Median:F4} | {peerText} | {ratio} | {om:F0} | {(peer is null ? "n/a" : pm.ToString("F0", CultureInfo.InvariantCulture))} |"));
            }
        }
        Console.WriteLine($"load average at end: {MachineInfo.LoadAverage()}");
        Directory.CreateDirectory(s.Output);
        var json = Path.Combine(s.Output, "bench-curve.json");
        Cli.PartialOutputFile.WriteFile(json, path => File.WriteAllText(path, JsonSerializer.Serialize(new
        {
            date = MachineInfo.Now(), cpu = MachineInfo.Cpu(), threads = s.Threads, ceilings.OursGflops, ceilings.PeerGflops,
            ceilings.OursGBs, ceilings.PeerGBs, points,
        }, new JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals })));
        var png = CostCurvePlot.Save(points, s.FixedBatch, s.FixedLength, Path.Combine(s.Output, "bench-curve.png"), "cost curve");
        Console.WriteLine($"wrote {json} and {png}");
        return 0;
    }
}
