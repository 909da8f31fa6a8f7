using System.CommandLine;
using Lmu.MLNet.Samples.Bench;

namespace Lmu.MLNet.Samples.Commands;

/// <summary><c>bench-latency</c>: single-row latency of the loaded model (PredictionEngine) next to the TorchSharp forward.</summary>
internal static class BenchLatencyCommand
{
    public static Command Create()
    {
        var config = new Option<string>("--config") { Description = "ff (psMNIST model: feed-forward memory + MLP) or rnn (recurrent LMU).", DefaultValueFactory = _ => "ff" };
        // Bounded: 100,000,000 steps ran out of memory and the process was killed without a word (found by QA).
        var steps = new Option<int>("--steps") { Description = "Sequence length (1 to 100,000).", DefaultValueFactory = _ => 784 }.Between(1, 100_000);
        var iterations = new Option<int>("--iterations") { Description = "Timed single-row predictions per path.", DefaultValueFactory = _ => 2000 }.Between(1);
        var warmup = new Option<int>("--warmup") { Description = "Untimed predictions first.", DefaultValueFactory = _ => 200 }.Between(0);
        var threads = new Option<int>("--threads") { Description = "Torch intra-op threads.", DefaultValueFactory = _ => 1 };
        var cmd = new Command("bench-latency", "Median and p99 microseconds per single-row prediction: loaded zip via PredictionEngine vs TorchSharp forward.")
        {
            config, steps, iterations, warmup, threads,
        };
        cmd.SetAction(r => LatencyBenchmark.Run(new LatencyBenchmark.Settings(
            r.GetValue(config)!, r.GetValue(steps), r.GetValue(iterations), r.GetValue(warmup), r.GetValue(threads))));
        return cmd;
    }
}
