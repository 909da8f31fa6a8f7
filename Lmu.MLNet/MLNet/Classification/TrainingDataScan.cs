using Microsoft.ML;

namespace Lmu.MLNet.Classification;

/// <summary>
/// One streaming pass over the training data before training: counts rows, finds the classes and the longest
/// VarVector row, and rejects NaN/Infinity, lengths outside [1, the row's steps], empty data and fewer than two classes. Nothing is kept but the counts.
/// </summary>
internal sealed record TrainingDataScan(long Rows, long MissingLabels, ClassMap Classes, int SequenceLength, IReadOnlyList<int> ClassCounts, float LargestMagnitude)
{
    public static TrainingDataScan Run(IDataView data, ClassifierInputLayout layout, Func<bool> canceled)
    {
        var keyNames = layout.KeyClassNames();
        var keyCounts = keyNames is null ? null : new int[keyNames.Count];
        var valueCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        long rows = 0, missing = 0;
        var maxSteps = 0;
        float largest;
        using (var cursor = data.GetRowCursor(layout.Columns))
        {
            var keyMap = keyNames is null ? null : new ClassMap(keyNames, ClassifierLabelKind.Key, layout.Label.Name, layout.HasKeyValues);
            var reader = new SequenceRowReader(cursor, layout, layout.SequenceLength, keyMap, "training");
            while (cursor.MoveNext())
            {
                if ((cursor.Position & 1023) == 0 && canceled())
                {
                    throw new OperationCanceledException("LmuClassifier: Fit was cancelled while scanning the training data.");
                }

                // Features are checked (finite values in the valid steps, lengths) even on rows with a missing label: a bad value is a
                // data error either way, and the check costs nothing extra here.
                var rowSteps = reader.ReadFeatures(Span<float>.Empty);
                if (layout.IsVariableLength && layout.SequenceLength > 0 && rowSteps > layout.SequenceLength)
                {
                    throw new InvalidDataException(
                        $"Features column '{layout.Features.Name}', training row {cursor.Position}: {rowSteps} steps, more than SequenceLength = {layout.SequenceLength}.");
                }

                maxSteps = Math.Max(maxSteps, rowSteps);
                if (keyCounts is not null)
                {
                    var k = reader.ClassIndex();
                    if (k < 0)
                    {
                        missing++;
                        continue;
                    }

                    keyCounts[k]++;
                }
                else
                {
                    var v = reader.ValueText!();
                    if (v is null)
                    {
                        missing++;
                        continue;
                    }

                    valueCounts[v] = valueCounts.GetValueOrDefault(v) + 1;
                }

                rows++;
            }

            largest = reader.LargestMagnitude;
        }

        if (rows == 0)
        {
            throw new InvalidOperationException(
                $"The training data has no rows with a label in column '{layout.Label.Name}' ({missing} rows with a missing label); nothing to train on.");
        }

        ClassMap classes;
        int[] counts;
        if (keyCounts is not null)
        {
            classes = new ClassMap(keyNames!, ClassifierLabelKind.Key, layout.Label.Name, layout.HasKeyValues);
            counts = keyCounts;
        }
        else
        {
            var names = KeyValueText.Sort(valueCounts.Keys, layout.Label.Type);
            classes = new ClassMap(names, ClassifierLabelKind.Value, layout.Label.Name);
            counts = names.Select(n => valueCounts[n]).ToArray();
        }

        var present = counts.Count(c => c > 0);
        if (present < 2)
        {
            var seen = string.Join(", ", classes.Names.Where((_, i) => counts[i] > 0).Select(n => $"'{n}'"));
            throw new InvalidOperationException(
                $"Label column '{layout.Label.Name}' has {present} distinct class(es) in the training data ({seen}); a classifier needs at least 2.");
        }

        var steps = layout.IsVariableLength ? (layout.SequenceLength > 0 ? layout.SequenceLength : maxSteps) : layout.SequenceLength;
        return new TrainingDataScan(rows, missing, classes, steps, counts, largest);
    }
}
