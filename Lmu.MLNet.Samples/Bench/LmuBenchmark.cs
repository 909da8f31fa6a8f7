using System.Diagnostics;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Samples.Bench;

/// <summary>
/// Median seconds per training step (forward + cross-entropy + backward + Adam) and per inference batch for the peer's
/// three configurations, with the PyTorch peer measured in the same invocation and the ratio ours / peer.
/// </summary>
internal static class LmuBenchmark
{
    public sealed record Settings(int Threads, int Steps, IReadOnlyList<string> Configs, bool RunPeer, string? PeerScript);

    public static int Run(Settings s)
    {
        torch.set_num_threads(s.Threads);
        torch.manual_seed(0);
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}, torch threads {s.Threads}");
        Console.WriteLine($"ours matmul1024 = {MatmulGflops():F1} GFLOP/s");
        var ours = new Dictionary<string, (double Train, double Infer, long Params)>();
        foreach (var name in s.Configs)
        {
            var r = Measure(name, s.Steps);
            ours[name] = r;
            Console.WriteLine($"ours {name,-9} train_step={r.Train:F4}s infer_batch={r.Infer:F4}s params={r.Params:N0}");
        }

        PeerBenchmark.Result? peer = null;
        string reason = "skipped (--no-peer)";
        if (s.RunPeer) peer = PeerBenchmark.Run(s.PeerScript, s.Threads, s.Steps, s.Configs, out reason);
        Console.WriteLine();
        Console.WriteLine($"| config | ours train (s) | peer train (s) | train ratio | ours infer (s) | peer infer (s) | infer ratio |");
        Console.WriteLine($"|---|---|---|---|---|---|---|");
        foreach (var (name, o) in ours)
        {
            if (peer is not null && peer.Configs.TryGetValue(name, out var p))
                Console.WriteLine($"| {name} | {o.Train:F4} | {p.Train:F4} | {o.Train / p.Train:F2} | {o.Infer:F4} | {p.Infer:F4} | {o.Infer / p.Infer:F2} |");
            else
                Console.WriteLine($"| {name} | {o.Train:F4} | n/a | n/a | {o.Infer:F4} | n/a | n/a |");
        }
        // Peak resident memory of each whole process (every configuration, weights, activations, the runtime itself).
        double oursPeak = System.Diagnostics.Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0);
        Console.WriteLine(peer?.PeakRssMiB is double peerPeak
            ? $"peak resident memory over the run: ours {oursPeak:F0} MiB, peer {peerPeak:F0} MiB, ratio {oursPeak / peerPeak:F2}"
            : $"peak resident memory over the run: ours {oursPeak:F0} MiB");
        if (peer is null) Console.WriteLine($"peer: {reason}");
        else Console.WriteLine($"peer: torch {peer.TorchVersion}, matmul1024 = {peer.MatmulGflops:F1} GFLOP/s (ratio < 1 means ours is faster)");
        return 0;
    }

    private static (double Train, double Infer, long Params) Measure(string name, int steps)
    {
        using var net = new LmuNetwork(BenchConfigurations.Create(name));
        using var x = torch.rand(BenchConfigurations.Batch, BenchConfigurations.Steps, 1);
        using var y = torch.randint(0, BenchConfigurations.Classes, BenchConfigurations.Batch, dtype: int64);
        using var opt = new AdamOptimizer(net.parameters(), 1e-3);
        var loss = nn.CrossEntropyLoss();
        void TrainStep()
        {
            using var scope = NewDisposeScope();
            opt.ZeroGrad();
            loss.forward(net.forward(x), y).backward();
            opt.Step();
        }
        void Infer()
        {
            using var scope = NewDisposeScope();
            using var _ = torch.no_grad();
            net.forward(x);
        }
        // The peer runs half as many steps for the slow recurrent cell; do the same so both take similar time.
        int n = name == "rnn_cell" ? Math.Max(2, steps / 2) : steps;
        net.train();
        double train = Median(TrainStep, n);
        net.eval();
        double infer = Median(Infer, n);
        return (train, infer, net.ParameterCount);
    }

    private static double Median(Action action, int n)
    {
        action(); // warm-up: caches, allocator, optimizer state
        var times = new double[n];
        for (int i = 0; i < n; i++)
        {
            var sw = Stopwatch.StartNew();
            action();
            times[i] = sw.Elapsed.TotalSeconds;
        }
        Array.Sort(times);
        return n % 2 == 1 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
    }

    private static double MatmulGflops()
    {
        using var a = torch.randn(1024, 1024);
        using var b = torch.randn(1024, 1024);
        double t = Median(() => { using var c = a.matmul(b); }, 10);
        return 2.0 * 1024 * 1024 * 1024 / t / 1e9;
    }
}
