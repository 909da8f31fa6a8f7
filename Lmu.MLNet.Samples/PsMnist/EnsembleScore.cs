namespace Lmu.MLNet.Samples.PsMnist;

/// <summary>The accuracy of an ensemble that averages its members' class probabilities.</summary>
internal static class EnsembleScore
{
    /// <summary>
    /// Share of rows whose largest mean probability over <paramref name="members"/> is at the row's label, a 1-based
    /// ML.NET key (the Score column's slot k - 1 belongs to key k). Every member scores the same rows in the same order;
    /// a tie goes to the lower slot.
    /// </summary>
    public static double Accuracy(IReadOnlyList<(float[][] Scores, uint[] Labels)> members)
    {
        if (members.Count == 0) throw new ArgumentException("An ensemble needs at least one member.", nameof(members));
        var labels = members[0].Labels;
        if (members.Any(m => m.Scores.Length != labels.Length))
        {
            throw new ArgumentException($"Every member must score the same {labels.Length} rows; got {string.Join(", ", members.Select(m => m.Scores.Length))}.", nameof(members));
        }

        int correct = 0;
        for (int row = 0; row < labels.Length; row++)
        {
            int classes = members[0].Scores[row].Length, argMax = 0;
            double bestMean = double.NegativeInfinity;
            for (int c = 0; c < classes; c++)
            {
                double mean = members.Average(m => (double)m.Scores[row][c]);
                if (mean > bestMean) (bestMean, argMax) = (mean, c);
            }

            if (argMax + 1 == labels[row]) correct++;
        }

        return (double)correct / labels.Length;
    }
}
