using Lmu.MLNet.Modules;
using Lmu.MLNet.Onnx;

namespace Lmu.MLNet;

/// <summary>
/// A network built and trained with the TorchSharp API (<see cref="LmuNetwork"/>, <see cref="Training.LmuTrainer"/>)
/// as a standalone ONNX model (opset 17), to score without libtorch in ONNX Runtime or through ML.NET's
/// <c>ApplyOnnxModel</c>: input <c>Features</c> float [N, T * InputSize] (each step's InputSize values side by side, as
/// <c>forward</c>'s x [N, T, InputSize] flattened), with <c>lengthInput</c> a second input <c>Length</c> int64 [N, 1] (each
/// row's valid steps, rows right-padded, as <c>forward</c>'s lengths), and output <c>Output</c> float [N, OutputSize]:
/// what <c>forward</c> returns (logits or regression values). Each layer takes the form the estimators' carried graphs
/// use; a trainable theta, A or B is written at its current value. The graph computes in float32 whatever the network's
/// dtype: a float64 network's weights are rounded to float32, and values that float64 holds but float32 does not
/// (a memory near 1e39) overflow there. (Here, not in Modules or Onnx: those two folders
/// never reference each other, so the TorchSharp modules and the ONNX writer stay apart.)
/// </summary>
public static class LmuNetworkOnnx
{
    /// <summary>The graph's input name.</summary>
    public const string InputName = "Features";

    /// <summary>The graph's length input name (with <c>lengthInput</c>).</summary>
    public const string LengthName = "Length";

    /// <summary>The graph's output name.</summary>
    public const string OutputName = "Output";

    /// <summary>The model's bytes for sequences of <paramref name="sequenceLength"/> steps.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sequenceLength"/> is below 1, or so large that the graph
    /// would not fit an ONNX model.</exception>
    public static byte[] ToOnnx(this LmuNetwork network, int sequenceLength, bool lengthInput = false)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentOutOfRangeException.ThrowIfLessThan(sequenceLength, 1);
        var options = new LmuOnnxExportOptions { InputName = InputName, RawOutputName = OutputName };
        try
        {
            return LmuOnnxExporter.Export(network.ToSpec(sequenceLength), lengthInput ? options.WithLength(LengthName, OnnxElementType.Int64) : options);
        }
        catch (OverflowException e)
        {
            // The writer's sizes are checked arithmetic: an overflow means a response or a tensor past what an array
            // (and an ONNX model, 2 GiB) holds. It came out as "Arithmetic operation resulted in an overflow" (found by QA).
            throw new ArgumentOutOfRangeException(nameof(sequenceLength), sequenceLength,
                $"A graph for {sequenceLength} steps holds more than an ONNX model (2 GiB) or an array can: export for fewer steps (each layer's impulse response is sequenceLength x Order values). {e.Message}");
        }
    }

    /// <summary>
    /// Writes <see cref="ToOnnx"/>'s model to <paramref name="path"/>, replacing a file there only once the new one is
    /// complete (a failed write leaves no partial file).
    /// </summary>
    public static void ExportOnnx(this LmuNetwork network, string path, int sequenceLength, bool lengthInput = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var bytes = network.ToOnnx(sequenceLength, lengthInput);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }
}
