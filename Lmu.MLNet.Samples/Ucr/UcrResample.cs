namespace Lmu.MLNet.Samples.Ucr;

/// <summary>
/// Random stratified train/test splits of a UCR set: the official train and test rows pooled, then each class dealt
/// as many training rows as the official training split has of it (so sizes and class proportions are the official
/// ones), the rest for testing.
/// </summary>
internal static class UcrResample
{
    /// <summary>The <paramref name="index"/>-th resample (1-based) under <paramref name="seed"/>; the same for every model.</summary>
    public static (TimeSeriesDataset Train, TimeSeriesDataset Test) Split(TimeSeriesDataset train, TimeSeriesDataset test, int seed, int index)
    {
        var rng = new Random(unchecked((seed * 7919) + index));
        var trainCounts = train.Rows.GroupBy(r => r.Label).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var newTrain = new List<TimeSeriesRow>();
        var newTest = new List<TimeSeriesRow>();
        foreach (var group in train.Rows.Concat(test.Rows).GroupBy(r => r.Label).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var rows = group.ToArray();
            rng.Shuffle(rows);
            var take = trainCounts.GetValueOrDefault(group.Key);
            newTrain.AddRange(rows.Take(take));
            newTest.AddRange(rows.Skip(take));
        }

        // Keep the official order's property that classes are interleaved: shuffle the rows themselves too.
        var trainRows = newTrain.ToArray();
        var testRows = newTest.ToArray();
        rng.Shuffle(trainRows);
        rng.Shuffle(testRows);
        return (new TimeSeriesDataset(train.Name, train.Channels, train.ClassLabels, trainRows),
                new TimeSeriesDataset(test.Name, test.Channels, test.ClassLabels, testRows));
    }
}
