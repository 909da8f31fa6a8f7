using System.CommandLine;
using Lmu.MLNet.Samples.Bench;

namespace Lmu.MLNet.Samples.Commands;

/// <summary><c>bench-curve</c>: training-step time and memory against T and batch, ours and the PyTorch peer, as a table and a PNG.</summary>
internal static class BenchCurveCommand
{
    public static Command Create()
    {
        var threads = new Option<int>("--threads") { Description = "Torch intra-op threads for both sides.", DefaultValueFactory = _ => 1 };
        var samples = new Option<int>("--samples") { Description = "Timed samples per point and side (median reported).", DefaultValueFactory = _ => 3 }.Between(1);
        var configs = new Option<string>("--configs") { Description = "Comma-separated: ff_dense, ff_rnn, rnn_cell.", DefaultValueFactory = _ => string.Join(',', BenchConfigurations.Names) }.OneOrMoreOf(BenchConfigurations.Names);
        var lengths = new Option<string>("--lengths") { Description = "Sequence lengths T (theta = T).", DefaultValueFactory = _ => "196,392,784,1568" }.NumbersFrom(1);
        var batches = new Option<string>("--batches") { Description = "Batch sizes.", DefaultValueFactory = _ => "25,100,400" }.NumbersFrom(1);
        var fixedBatch = new Option<int>("--fixed-batch") { Description = "Batch of the T sweep.", DefaultValueFactory = _ => BenchConfigurations.Batch }.Between(1);
        var fixedLength = new Option<int>("--fixed-length") { Description = "T of the batch sweep.", DefaultValueFactory = _ => BenchConfigurations.Steps }.Between(1);
        var full = new Option<bool>("--full") { Description = "Every (T, batch) pair instead of the two sweeps through the fixed point." };
        var peer = new Option<string?>("--peer-script") { Description = "Path of peer_pytorch_lmu.py (default: ../shared/bench/ found above the working directory)." }.ExistingFile();
        var output = new Option<string>("--output") { Description = "Folder for bench-curve.json and bench-curve.png.", DefaultValueFactory = _ => "bench-curve-out" };
        var cmd = new Command("bench-curve", "Training-step seconds and peak step memory against T and batch, ours and the PyTorch peer interleaved, as a table and a PNG.")
        {
            threads, samples, configs, lengths, batches, fixedBatch, fixedLength, full, peer, output,
        };
        cmd.SetAction(r =>
        {
            // --lengths, --batches and --configs are checked when the command line is read.
            static int[] Ints(string v) => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(x => int.Parse(x, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            var names = r.GetValue(configs)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            return CostCurve.Run(new CostCurve.Settings(r.GetValue(threads), r.GetValue(samples), names,
                Ints(r.GetValue(lengths)!), Ints(r.GetValue(batches)!), r.GetValue(fixedBatch), r.GetValue(fixedLength),
                r.GetValue(full), r.GetValue(peer), r.GetValue(output)!));
        });
        return cmd;
    }
}
