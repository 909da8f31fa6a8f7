using System.CommandLine;
using Lmu.MLNet.Samples.Bench;

namespace Lmu.MLNet.Samples.Commands;

/// <summary><c>bench</c>: training-step and inference timings of the LMU against the PyTorch peer, as ratios.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var threads = new Option<int>("--threads") { Description = "Torch intra-op threads for both sides.", DefaultValueFactory = _ => 2 };
        var steps = new Option<int>("--steps") { Description = "Timed steps per configuration (median reported).", DefaultValueFactory = _ => 5 };
        var configs = new Option<string>("--configs") { Description = "Comma-separated: ff_dense, ff_rnn, rnn_cell.", DefaultValueFactory = _ => "ff_dense,ff_rnn,rnn_cell" };
        var noPeer = new Option<bool>("--no-peer") { Description = "Skip the PyTorch peer even if python3 and torch are present." };
        var peer = new Option<string?>("--peer-script") { Description = "Path of peer_pytorch_lmu.py (default: ../shared/bench/ found above the working directory)." };
        var cmd = new Command("bench", "Median seconds per training step and per inference batch (psMNIST shapes), ours vs the PyTorch peer.")
        {
            threads, steps, configs, noPeer, peer,
        };
        cmd.SetAction(r => LmuBenchmark.Run(new LmuBenchmark.Settings(
            r.GetValue(threads), r.GetValue(steps), r.GetValue(configs)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
            !r.GetValue(noPeer), r.GetValue(peer))));
        return cmd;
    }
}
