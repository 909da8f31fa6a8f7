using Lmu.MLNet.Modules;

namespace Lmu.MLNet.Onnx;

/// <summary>
/// Plain-data description of a trained LMU network for inference: the bridge between the TorchSharp modules (which
/// produce it after training) and the ONNX writer (which turns it into a graph). No torch types, so export and its
/// tests need no libtorch.
/// </summary>
/// <remarks>
/// Input rows are flattened sequences <c>[T * InputSize]</c>, time-major (step t occupies
/// <c>[t*InputSize, (t+1)*InputSize)</c>). The network runs the LMU layer over the T steps, takes the layer's output at
/// the last step and applies <see cref="Head"/> to produce <see cref="OutputSize"/> raw outputs (logits or forecasts).
/// </remarks>
internal sealed class LmuNetworkSpec
{
    /// <summary>Sequence length T (fixed; rows are T * InputSize floats).</summary>
    public required int SequenceLength { get; init; }

    /// <summary>The LMU layer.</summary>
    public required LmuLayerSpec Layer { get; init; }

    /// <summary>Dense layers applied, in order, to the layer's last-step output; the last one yields the raw outputs.</summary>
    public required IReadOnlyList<DenseSpec> Head { get; init; }

    /// <summary>Width of the raw output (classes, or horizon).</summary>
    public int OutputSize => Head.Count == 0 ? Layer.OutputSize : Head[^1].Out;
}

/// <summary>A dense map y = act(x W + b) with W stored row-major as [In, Out].</summary>
internal sealed class DenseSpec
{
    /// <summary>Input width.</summary>
    public required int In { get; init; }

    /// <summary>Output width.</summary>
    public required int Out { get; init; }

    /// <summary>Weights, row-major [In, Out] (so y = x W).</summary>
    public required float[] W { get; init; }

    /// <summary>Bias [Out], or null for none.</summary>
    public float[]? B { get; init; }

    /// <summary>Activation applied after the affine map.</summary>
    public LmuActivation Activation { get; init; } = LmuActivation.Identity;
}

/// <summary>
/// One LMU layer, in the equations of the LMU paper with the oracle's names:
/// <code>
/// u_t = x_t Ex + bu [+ h_{t-1} Eh if HiddenToMemory] [+ flat(m_{t-1}) Em if MemoryToMemory]   (u_t = x_t if no encoder)
/// m_t[k,:] = Ad m_{t-1}[k,:] + Bd u_t[k]          k = 0..MemoryD-1; flat index k*Order + i (channel-major)
/// z_t = [flat(m_t), x_t if InputToHidden]
/// h_t = hidden cell(z_t, h_{t-1})                   zero initial state
/// </code>
/// </summary>
internal sealed class LmuLayerSpec
{
    /// <summary>Input channels per step.</summary>
    public required int InputSize { get; init; }

    /// <summary>Number of independent memory channels (memory_d).</summary>
    public required int MemoryD { get; init; }

    /// <summary>Legendre order q per channel.</summary>
    public required int Order { get; init; }

    /// <summary>Discretised state matrix, row-major [Order, Order], float64 (theta already applied; trained theta frozen).</summary>
    public required double[] Ad { get; init; }

    /// <summary>Discretised input vector [Order], float64.</summary>
    public required double[] Bd { get; init; }

    /// <summary>Input encoder [InputSize, MemoryD]; null means u_t = x_t (requires InputSize == MemoryD).</summary>
    public float[]? Ex { get; init; }

    /// <summary>Encoder bias [MemoryD] or null.</summary>
    public float[]? Bu { get; init; }

    /// <summary>Hidden-to-memory encoder [HiddenSize, MemoryD] or null.</summary>
    public float[]? Eh { get; init; }

    /// <summary>Memory-to-memory encoder [MemoryD * Order, MemoryD] or null.</summary>
    public float[]? Em { get; init; }

    /// <summary>Whether x_t is concatenated to the flattened memory as hidden-cell input.</summary>
    public bool InputToHidden { get; init; }

    /// <summary>The hidden cell.</summary>
    public HiddenCell Hidden { get; init; }

    /// <summary>Hidden units (0 when <see cref="Hidden"/> is None).</summary>
    public int Units { get; init; }

    /// <summary>
    /// Hidden weights. Dense/SimpleRnn: Input = z_t -> Units with activation (W row-major [z width, Units]);
    /// Lstm/Gru: W = W_ih^T row-major [z width, G*Units] (G = 4 or 3, PyTorch gate order), B = b_ih.
    /// </summary>
    public DenseSpec? HiddenInput { get; init; }

    /// <summary>SimpleRnn/Lstm/Gru recurrent weights: W_hh^T row-major [Units, G*Units], B = b_hh (may be null).</summary>
    public DenseSpec? HiddenRecurrent { get; init; }

    /// <summary>Width of z_t.</summary>
    public int HiddenInputSize => MemoryD * Order + (InputToHidden ? InputSize : 0);

    /// <summary>Width of the layer output h_t.</summary>
    public int OutputSize => Hidden == HiddenCell.None ? HiddenInputSize : Units;

    /// <summary>True when the memory has no recurrent input, so it is a fixed convolution of the encoded input.</summary>
    public bool MemoryIsFeedForward => Eh is null && Em is null;
}
