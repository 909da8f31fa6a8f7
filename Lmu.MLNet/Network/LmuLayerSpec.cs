namespace Lmu.MLNet.Network;

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

    /// <summary>Number of gate blocks in the hidden weights: 4 for LSTM, 3 for GRU, else 1.</summary>
    public static int GatesOf(HiddenCell kind) => kind switch
    {
        HiddenCell.Lstm => 4,
        HiddenCell.Gru => 3,
        _ => 1,
    };

    /// <summary>
    /// Lags the memory reads (0 = all): with k &gt; 0 the memory is a window, m_t = sum_{s &lt; k} H[s] u_{t-s}, which only
    /// the feed-forward form computes (it has no recurrent state).
    /// </summary>
    public int ImpulseTruncation { get; init; }

    /// <summary>True when the memory has no recurrent input, so it is a fixed convolution of the encoded input.</summary>
    public bool MemoryIsFeedForward => Eh is null && Em is null;
}
