namespace Lmu.MLNet.Data;

/// <summary>1-nearest-neighbour with Euclidean distance, the UCR archive's reference baseline (and a loader check).</summary>
internal static class NearestNeighbourBaseline
{
    /// <summary>
    /// Test accuracy of 1-NN Euclidean on equal-length sets (ties go to the first training row, as in the archive's
    /// reference code). Distances in float64.
    /// </summary>
    public static double Accuracy(TimeSeriesDataset train, TimeSeriesDataset test)
    {
        var trainLabels = train.Rows.Select(r => r.Label).ToArray();
        var correct = 0;
        foreach (var q in test.Rows)
        {
            var best = double.PositiveInfinity;
            var label = string.Empty;
            for (var i = 0; i < train.Rows.Count; i++)
            {
                var x = train.Rows[i].Values;
                if (x.Length != q.Values.Length)
                {
                    throw new ArgumentException($"1-NN Euclidean needs equal lengths; '{train.Name}' has rows of {x.Length} and {q.Values.Length} values.");
                }

                double d = 0;
                for (var j = 0; j < x.Length && d < best; j++)
                {
                    var diff = (double)x[j] - q.Values[j];
                    d += diff * diff;
                }

                if (d < best)
                {
                    best = d;
                    label = trainLabels[i];
                }
            }

            if (label == q.Label)
            {
                correct++;
            }
        }

        return correct / (double)test.Rows.Count;
    }
}
