namespace Lmu.MLNet.Samples.Cli;

/// <summary>Stratified k-fold assignment for <c>lmu classify --folds</c>.</summary>
internal static class StratifiedFolds
{
    /// <summary>Fold of each row: each class's rows shuffled and dealt in turn, so every fold holds each class in proportion.</summary>
    public static int[] Assign(TimeSeriesDataset data, int folds, int seed)
    {
        var rng = new Random(seed);
        var fold = new int[data.Rows.Count];
        var next = 0;
        foreach (var label in data.ClassLabels)
        {
            var rows = Enumerable.Range(0, data.Rows.Count).Where(i => data.Rows[i].Label == label).ToArray();
            rng.Shuffle(rows);
            foreach (var i in rows)
            {
                fold[i] = next++ % folds;
            }
        }

        return fold;
    }
}
