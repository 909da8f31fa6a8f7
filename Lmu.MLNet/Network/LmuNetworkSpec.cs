namespace Lmu.MLNet.Network;

/// <summary>
/// Plain-data description of a trained LMU network for inference: the bridge between the TorchSharp modules (which
/// produce it after training), the ONNX writer (which turns it into a graph) and the forecaster's float64 engine. No
/// torch and no ONNX types, so each side depends on this description only, never on the other.
/// </summary>
/// <remarks>
/// Input rows are flattened sequences <c>[T * InputSize]</c>, time-major (step t occupies
/// <c>[t*InputSize, (t+1)*InputSize)</c>, InputSize that of the first layer). Layer 0 reads the input sequence; layer
/// i &gt; 0 reads layer i-1's output at every step (a stack); each starts from a zero state. The network takes the last
/// layer's output at the last step (or pools it over the steps, <see cref="Readout"/>) and applies <see cref="Head"/> to
/// produce <see cref="OutputSize"/> raw outputs (logits or forecasts).
/// </remarks>
internal sealed class LmuNetworkSpec
{
    /// <summary>Sequence length T (fixed; rows are T * InputSize floats).</summary>
    public required int SequenceLength { get; init; }

    /// <summary>The LMU layers, input first (at least one).</summary>
    public required IReadOnlyList<LmuLayerSpec> Layers { get; init; }

    /// <summary>Dense layers applied, in order, to the readout; the last one yields the raw outputs.</summary>
    public required IReadOnlyList<DenseSpec> Head { get; init; }

    /// <summary>What the head reads from the last layer's outputs. Default <see cref="LmuReadout.LastStep"/>.</summary>
    public LmuReadout Readout { get; init; } = LmuReadout.LastStep;

    /// <summary>Width of the readout the head reads.</summary>
    public int ReadoutSize => ReadoutWidth.Of(Readout, LastLayer.OutputSize);

    /// <summary>Channels per input step (the first layer's InputSize).</summary>
    public int InputSize => Layers[0].InputSize;

    /// <summary>The layer whose last-step output feeds the head.</summary>
    public LmuLayerSpec LastLayer => Layers[^1];

    /// <summary>Width of the raw output (classes, or horizon).</summary>
    public int OutputSize => Head.Count == 0 ? ReadoutSize : Head[^1].Out;
}
