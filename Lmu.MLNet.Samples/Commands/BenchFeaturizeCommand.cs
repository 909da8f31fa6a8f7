using System.CommandLine;
using Lmu.MLNet.Samples.Bench;

namespace Lmu.MLNet.Samples.Commands;

/// <summary><c>bench-featurize</c>: scoring speed of LmuFeaturize and LmuPooledFeaturize against a batched PyTorch peer.</summary>
internal static class BenchFeaturizeCommand
{
    public static Command Create()
    {
        var rows = new Option<int>("--rows") { Description = "Rows scored per repetition.", DefaultValueFactory = _ => 1000 }.Between(1);
        var steps = new Option<int>("--steps") { Description = "Steps per row (univariate).", DefaultValueFactory = _ => 150 }.Between(1);
        var windows = new Option<int>("--windows") { Description = "Pooled featurizer: memories.", DefaultValueFactory = _ => 50 }.Between(1);
        var projections = new Option<int>("--projections") { Description = "Pooled featurizer: projections per memory.", DefaultValueFactory = _ => 100 }.Between(1);
        // The pooled featurizer's own range (order 1 passed here and failed in the library; found by QA).
        var order = new Option<int>("--order") { Description = "Pooled featurizer: Legendre order (2 to 64).", DefaultValueFactory = _ => 9 }.Between(2, 64);
        var threads = new Option<int>("--peer-threads") { Description = "PyTorch threads of the peer.", DefaultValueFactory = _ => 1 }.Between(1);
        var repeats = new Option<int>("--repeats") { Description = "Timed repetitions (median reported).", DefaultValueFactory = _ => 3 }.Between(1);
        var noPeer = new Option<bool>("--no-peer") { Description = "Skip the PyTorch peer." };
        var cmd = new Command("bench-featurize", "Seconds to featurize all rows through ML.NET (final memory and pooled memories), ours vs a batched PyTorch peer.")
        {
            rows, steps, windows, projections, order, threads, repeats, noPeer,
        };
        cmd.SetAction(r => FeaturizeBenchmark.Run(new FeaturizeBenchmark.Settings(
            r.GetValue(rows), r.GetValue(steps), r.GetValue(windows), r.GetValue(projections), r.GetValue(order), r.GetValue(threads), r.GetValue(repeats), !r.GetValue(noPeer))));
        return cmd;
    }
}
