namespace Lmu.MLNet.Onnx;

/// <summary>How the LMU recurrence is laid out in the exported graph.</summary>
internal enum LmuOnnxForm
{
    /// <summary>
    /// Feed-forward when the spec allows it, else the blocks where they compute the layer (see <see cref="Blocked"/>),
    /// otherwise Scan.
    /// </summary>
    Auto,

    /// <summary>
    /// The memory at the last step as one MatMul of the encoded input with the impulse response (no loop). Only for
    /// specs whose memory is feed-forward and whose hidden cell is None or Dense.
    /// </summary>
    FeedForward,

    /// <summary>An ONNX Scan over time whose body performs one LMU step.</summary>
    Scan,

    /// <summary>
    /// Two ONNX RNN operators, the memory's (identity activation) and the SimpleRnn cell's (see
    /// <see cref="LmuOnnxRecurrentOpLayer"/>). Only for a feed-forward memory under a SimpleRnn cell, without a length
    /// input. Asked for only: <see cref="Blocked"/> is faster in both layouts (6.2 against 3.1 ms a row for psMNIST's ff_rnn).
    /// </summary>
    RecurrentOps,

    /// <summary>
    /// Blocks of steps that never form the memory inside a block, without a length input or per-step memory sequences;
    /// Auto picks them where they apply, in batched and one-row graphs alike. A feed-forward memory under a SimpleRnn
    /// cell: every step's hidden input from block products and the cell's recurrence alone in a Scan
    /// (<see cref="LmuOnnxBlockedLayer"/>). A recurrent memory (hidden- or memory-to-memory encoders) under a SimpleRnn,
    /// LSTM or Dense cell: a Scan over blocks of 8 steps, the memory formed at block ends only
    /// (<see cref="LmuOnnxRecurrentBlockedLayer"/>).
    /// </summary>
    Blocked,
}
