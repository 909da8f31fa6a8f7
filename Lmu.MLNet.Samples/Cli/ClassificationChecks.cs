namespace Lmu.MLNet.Samples.Cli;

/// <summary>
/// What <c>lmu classify</c> checks before anything is trained, each failure one <see cref="InvalidDataException"/>
/// naming the file, the line and the label column: at least two classes, at least two training rows per class (and
/// as many rows as folds), test classes that the training file has, and the same channels in both files.
/// </summary>
internal static class ClassificationChecks
{
    /// <summary>Rows every class needs in the training file: one to learn from whatever else is held out.</summary>
    public const int MinimumRowsPerClass = 2;

    public static void Training(ClassificationFile.Loaded train, int folds)
    {
        var data = train.Data;
        if (data.ClassLabels.Count < 2)
        {
            throw new InvalidDataException(
                $"'{train.Path}': {train.LabelColumn} holds one class ('{data.ClassLabels.FirstOrDefault()}') in all {data.Rows.Count} rows; classification needs at least two classes (is --label the right column?).");
        }

        foreach (var label in data.ClassLabels)
        {
            var rows = Enumerable.Range(0, data.Rows.Count).Where(i => data.Rows[i].Label == label).ToList();
            if (rows.Count == 0)
            {
                // A .ts file's @classLabel may name a class no case has (QA: "Index was out of range").
                throw new InvalidDataException(
                    $"'{train.Path}': class '{label}' is declared but has no rows; every class needs at least {MinimumRowsPerClass} training rows (add rows of it or remove it from @classLabel).");
            }

            if (rows.Count < MinimumRowsPerClass)
            {
                throw new InvalidDataException(
                    $"{train.Where(rows[0])}: class '{label}' has {rows.Count} row; every class needs at least {MinimumRowsPerClass} training rows (add rows of it or remove the class{(rows[0] == 0 && train.Lines is not null ? "; if that line names the columns, pass --header yes" : string.Empty)}).");
            }
        }

        if (folds > data.Rows.Count)
        {
            throw new ArgumentException($"--folds {folds} is more than the {data.Rows.Count} rows of '{train.Path}'.");
        }
    }

    public static void Test(ClassificationFile.Loaded test, ClassificationFile.Loaded train)
    {
        if (test.Data.Channels != train.Data.Channels)
        {
            throw new InvalidDataException($"'{test.Path}': {test.Data.Channels} channels per step, but the training file '{train.Path}' has {train.Data.Channels}.");
        }

        var known = train.Data.ClassLabels.ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i < test.Data.Rows.Count; i++)
        {
            if (!known.Contains(test.Data.Rows[i].Label))
            {
                throw new InvalidDataException(
                    $"{test.Where(i)}: class '{test.Data.Rows[i].Label}' does not occur in the training file '{train.Path}' (its classes: {string.Join(", ", train.Data.ClassLabels)}).");
            }
        }
    }
}
