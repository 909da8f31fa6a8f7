using System.Diagnostics;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Onnx;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Lmu.MLNet.Samples.Bench;

/// <summary>
/// Inference as a deployment runs it: our side's trained network written as the standalone ONNX graph (the one
/// <c>SaveOnnx</c> writes, with a batch axis) and scored by ONNX Runtime's <see cref="InferenceSession"/>, no
/// libtorch involved, on the same batch. ONNX Runtime's own thread pools are set to the bench's thread count, and
/// the graph optimisations are ONNX Runtime's defaults (all). Inference only: <see cref="Train"/> has no meaning here.
/// </summary>
internal sealed class OnnxDeployedSide : InferenceOnlySide
{
    private readonly int _threads;
    private InferenceSession? _session;
    private DenseTensor<float>? _input;
    private const string InputName = "Features";

    /// <summary>Scores with <paramref name="threads"/> intra-op threads.</summary>
    public OnnxDeployedSide(int threads) => _threads = threads;

    /// <inheritdoc />
    public override string Name => "ours (ONNX Runtime)";

    /// <summary>
    /// Writes <paramref name="network"/>'s graph for <paramref name="input"/>'s shape ([batch, T, 1]) and opens a
    /// session on it; the same values become the graph's [batch, T] input.
    /// </summary>
    public void Load(LmuNetwork network, float[] input, int batch, int steps)
    {
        Release();
        var bytes = LmuOnnxExporter.Export(network.ToSpec(steps), new LmuOnnxExportOptions { InputName = InputName, BatchAxis = true, RawOutputName = "Output" });
        using var options = new SessionOptions { IntraOpNumThreads = _threads, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
        _session = new InferenceSession(bytes, options);
        _input = new DenseTensor<float>(input, [batch, steps]);
    }

    /// <inheritdoc />
    protected override double InferOnce()
    {
        var sw = Stopwatch.StartNew();
        using var results = _session!.Run([NamedOnnxValue.CreateFromTensor(InputName, _input!)]);
        _ = results.First().AsTensor<float>()[0, 0];
        return sw.Elapsed.TotalSeconds;
    }

    /// <summary>The graph's output for the batch, [batch, OutputSize] row-major.</summary>
    public float[] Outputs()
    {
        using var results = _session!.Run([NamedOnnxValue.CreateFromTensor(InputName, _input!)]);
        return results.First().AsTensor<float>().ToArray();
    }

    private void Release()
    {
        _session?.Dispose();
        _session = null;
        _input = null;
    }

    /// <inheritdoc />
    public override void Dispose() => Release();
}
