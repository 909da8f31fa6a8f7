using System.CommandLine;
using Lmu.MLNet.Samples.Bench;

namespace Lmu.MLNet.Samples.Commands;

/// <summary><c>bench</c>: training-step and inference timings of the LMU against the PyTorch peer, interleaved, with ranges and verdicts.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var threads = new Option<int>("--threads") { Description = "Torch intra-op threads for both sides (1 on a busy machine: OpenMP threads wait for descheduled peers).", DefaultValueFactory = _ => 1 };
        var samples = new Option<int>("--samples") { Description = "Timed samples per side and operation (median and interquartile range reported).", DefaultValueFactory = _ => 15 }.Between(1);
        var warmup = new Option<int>("--warmup") { Description = "Warm-up rounds per operation, excluded from the samples.", DefaultValueFactory = _ => 2 }.Between(0);
        var configs = new Option<string>("--configs") { Description = "Comma-separated: ff_dense, ff_rnn, rnn_cell.", DefaultValueFactory = _ => string.Join(',', BenchConfigurations.Names) }.OneOrMoreOf(BenchConfigurations.Names);
        var steps = new Option<int>("--length") { Description = "Sequence length T (theta = T).", DefaultValueFactory = _ => BenchConfigurations.Steps }.Between(1);
        var batch = new Option<int>("--batch") { Description = "Batch size.", DefaultValueFactory = _ => BenchConfigurations.Batch }.Between(1);
        var noPeer = new Option<bool>("--no-peer") { Description = "Skip the PyTorch peer even if python3 and torch are present." };
        var peer = new Option<string?>("--peer-script") { Description = "Path of peer_pytorch_lmu.py (default: ../shared/bench/ found above the working directory)." }.ExistingFile();
        var checkpoint = new Option<int?>("--scan-checkpoint") { Description = $"Steps between both last-step scans' checkpoints (0 keeps every state: no recomputation, more memory). Default: {Lmu.MLNet.Modules.LinearScanLastFunction.CheckpointInterval} for the fused scan, {Lmu.MLNet.Modules.TwoStageScanLastFunction.CheckpointInterval} for the two-stage one." };
        var keepAll = new Option<int>("--scan-keep-all-mib") { Description = "The last-step scan keeps every state (no recomputation) when they fit in this many MiB; 0 always checkpoints.", DefaultValueFactory = _ => (int)(Lmu.MLNet.Modules.LinearScanLastFunction.KeepAllBytes >> 20) }.Between(0);
        var fusedOnly = new Option<bool>("--fused-scan") { Description = "Recurrent cells with a hidden cell step through the fused [D, D] scan instead of the two-stage one (memory, then hidden): the form before 2026-12-04, for comparison." };
        var fftProjection = new Option<bool>("--fft-projection") { Description = "A SimpleRnn over a feed-forward memory reads the memory through the FFT convolution instead of the blocked projection: the form before 2026-12-04 (night), for comparison." };
        var steppedInference = new Option<bool>("--stepped-inference") { Description = "Inference of recurrent cells with a hidden cell steps one at a time instead of in blocks of 8 that form the memory only at block ends: the form before 2026-12-05 (late), for comparison." };
        var steppedBackward = new Option<bool>("--stepped-backward") { Description = "The recurrent cell's training backward pass steps one at a time instead of in blocks of 8 without the per-step memory product: the form before 2026-12-05 (sixth session), for comparison." };
        var blockSteps = new Option<int>("--block-steps") { Description = "Steps per block of the blocked projection.", DefaultValueFactory = _ => Lmu.MLNet.Modules.LmuLayer.BlockSteps }.Between(1);
        var json = new Option<string?>("--json") { Description = "Also write every sample to this JSON file." };
        var callsPerSample = new Option<int>("--calls-per-sample") { Description = "Calls run back to back per sample, the same on both sides; 0: enough for about 20 ms per sample, from a timed call of ours (1: one call per sample, the only form before 2026-12-06).", DefaultValueFactory = _ => 0 }.NotNegative();
        var deployed = new Option<bool>("--deployed") { Description = "Also time inference as deployments run it, against the peer's inference: the trained network's standalone ONNX graph (batch axis) in ONNX Runtime, and the graph a saved model carries in an ML.NET pipeline (OnnxTransformer, one row per run) over the batch as a data view." };
        var cmd = new Command("bench", "Seconds per training step and inference batch (psMNIST shapes), ours and the PyTorch peer interleaved: medians, ranges, verdicts, memory.")
        {
            threads, samples, warmup, configs, steps, batch, checkpoint, keepAll, fusedOnly, fftProjection, steppedInference, steppedBackward, blockSteps, noPeer, peer, json, deployed, callsPerSample,
        };
        cmd.SetAction(r =>
        {
            var names = r.GetValue(configs)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            foreach (var n in names)
                if (!BenchConfigurations.Names.Contains(n)) throw new ArgumentException($"Unknown --configs entry '{n}'; expected some of {string.Join(", ", BenchConfigurations.Names)}.");
            if (r.GetValue(samples) < 1 || r.GetValue(warmup) < 0) throw new ArgumentException("--samples must be at least 1 and --warmup at least 0.");
            if (r.GetValue(callsPerSample) < 0) throw new ArgumentException($"--calls-per-sample must be 0 (automatic) or positive, got {r.GetValue(callsPerSample)}.");
            if (r.GetValue(checkpoint) is int k)
            {
                if (k < 0) throw new ArgumentException($"--scan-checkpoint must be 0 (keep every state) or positive, got {k}.");
                Lmu.MLNet.Modules.LinearScanLastFunction.CheckpointInterval = k;
                Lmu.MLNet.Modules.TwoStageScanLastFunction.CheckpointInterval = k;
            }

            Lmu.MLNet.Modules.LinearScanLastFunction.DefaultKeepAllBytes = (long)r.GetValue(keepAll) << 20;
            Lmu.MLNet.Modules.LmuLayer.TwoStageScan = !r.GetValue(fusedOnly);
            Lmu.MLNet.Modules.LmuLayer.BlockedProjection = !r.GetValue(fftProjection);
            Lmu.MLNet.Modules.TwoStageScanLastFunction.UseBlocks = !r.GetValue(steppedInference);
            Lmu.MLNet.Modules.TwoStageScanLastFunction.UseBlockedBackward = !r.GetValue(steppedBackward);
            Lmu.MLNet.Modules.LmuLayer.BlockSteps = r.GetValue(blockSteps) >= 1 ? r.GetValue(blockSteps) : throw new ArgumentException($"--block-steps must be at least 1, got {r.GetValue(blockSteps)}.");
            return LmuBenchmark.Run(new LmuBenchmark.Settings(r.GetValue(threads), r.GetValue(samples), r.GetValue(warmup), names,
                r.GetValue(steps), r.GetValue(batch), !r.GetValue(noPeer), r.GetValue(peer), r.GetValue(json), r.GetValue(deployed),
                r.GetValue(callsPerSample)));
        });
        return cmd;
    }
}
