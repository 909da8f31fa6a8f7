using Lmu.MLNet.Data;

namespace Lmu.MLNet.Samples.Ucr;

/// <summary>
/// Refuses a UCR split with a missing value (NaN, "?") inside a row's length: the loader keeps them as NaN, the networks
/// refuse such rows, but the pooled and LightGBM models scored them silently, as NaN features or missing ones (found by
/// QA: `ucr` and `experiment` ran on and printed slightly lower accuracies). Trailing NaN that pad a shorter row in a
/// variable-length .tsv are not inside its length.
/// </summary>
internal static class CompleteRows
{
    /// <exception cref="InvalidDataException">A row holds NaN inside its length (named by split, row and step).</exception>
    public static void Require(TimeSeriesDataset data, string split)
    {
        if (data.FirstMissingValue() is (var i, var at))
        {
            throw new InvalidDataException(
                $"{data.Name} {split} row {i + 1}: step {at / data.Channels + 1} of {data.Rows[i].Length} is a missing value (NaN); these models need complete rows.");
        }
    }
}
