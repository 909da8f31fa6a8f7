namespace Lmu.MLNet;

/// <summary>The hidden cell that reads the Legendre memory at every step.</summary>
public enum HiddenCell
{
    /// <summary>No hidden cell: the layer emits the flattened memory (and the input when input-to-hidden is on).</summary>
    None,

    /// <summary>A dense layer with an activation, no recurrence: h_t = act(z_t W + b).</summary>
    Dense,

    /// <summary>An Elman RNN: h_t = act(z_t W_ih + h_{t-1} W_hh + b).</summary>
    SimpleRnn,

    /// <summary>An LSTM cell (gates i, f, g, o, as in PyTorch).</summary>
    Lstm,

    /// <summary>A GRU cell (gates r, z, n, as in PyTorch).</summary>
    Gru,
}
