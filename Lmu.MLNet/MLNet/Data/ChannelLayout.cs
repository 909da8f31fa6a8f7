namespace Lmu.MLNet.Data;

/// <summary>
/// Moves a row between the two layouts of <see cref="Classification.LmuInputLayout"/>: step-major [T, C] (each step's
/// channels side by side, what the networks and the featurizers compute on) and channel-major [C, T] (each channel's
/// steps one after another, what <c>Concatenate</c> of one column per channel makes).
/// </summary>
internal static class ChannelLayout
{
    /// <summary>
    /// Writes the transpose of the row-major [<paramref name="rows"/>, <paramref name="columns"/>] matrix
    /// <paramref name="source"/> into <paramref name="destination"/> ([columns, rows]); the two must not overlap.
    /// Channel-major to step-major: rows = C, columns = T; step-major to channel-major: rows = T, columns = C.
    /// </summary>
    public static void Transpose(ReadOnlySpan<float> source, Span<float> destination, int rows, int columns)
    {
        if (source.Length != rows * columns || destination.Length != rows * columns)
        {
            throw new ArgumentException($"a [{rows}, {columns}] transpose needs {rows * columns} values in and out but has {source.Length} and {destination.Length}.");
        }

        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < columns; j++)
            {
                destination[(j * rows) + i] = source[(i * columns) + j];
            }
        }
    }
}
