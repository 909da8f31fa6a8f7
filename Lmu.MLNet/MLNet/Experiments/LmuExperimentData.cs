using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.MLNet;

/// <summary>Rows of an IDataView as flat float32 sequences and class indices, ready to be cut into tensors.</summary>
internal sealed class LmuExperimentData
{
    private LmuExperimentData(float[] values, int[] labels, int steps, int channels, IReadOnlyList<string> classNames)
    {
        Values = values;
        Labels = labels;
        Steps = steps;
        Channels = channels;
        ClassNames = classNames;
    }

    public float[] Values { get; }

    public int[] Labels { get; }

    public int Steps { get; }

    public int Channels { get; }

    public int Count => Labels.Length;

    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Reads the columns; <paramref name="classNames"/> fixes the key order (else taken from this data).</summary>
    public static LmuExperimentData Read(IDataView data, string labelColumn, string featuresColumn, int channels, IReadOnlyList<string>? classNames, string what)
    {
        var f = data.Schema.GetColumnOrNull(featuresColumn)
                ?? throw new ArgumentOutOfRangeException(nameof(featuresColumn), $"LMU experiment: features column '{featuresColumn}' not found in the {what} data; it has: {string.Join(", ", data.Schema.Select(c => c.Name))}.");
        if (f.Type is not VectorDataViewType { ItemType: NumberDataViewType, Size: > 0 } v || v.ItemType != NumberDataViewType.Single)
        {
            throw new ArgumentException($"LMU experiment: features column '{featuresColumn}' must be a fixed-size Vector<Single> but is {f.Type}.", nameof(featuresColumn));
        }

        if (v.Size % channels != 0)
        {
            throw new ArgumentException($"LMU experiment: features column '{featuresColumn}' has {v.Size} values, not a multiple of channels = {channels}.", nameof(channels));
        }

        var l = data.Schema.GetColumnOrNull(labelColumn)
                ?? throw new ArgumentOutOfRangeException(nameof(labelColumn), $"LMU experiment: label column '{labelColumn}' not found in the {what} data; it has: {string.Join(", ", data.Schema.Select(c => c.Name))}.");
        string[] labels = l.Type switch
        {
            TextDataViewType => data.GetColumn<ReadOnlyMemory<char>>(labelColumn).Select(m => m.ToString()).ToArray(),
            KeyDataViewType => KeyLabels(data, l),
            _ => throw new ArgumentException($"LMU experiment: label column '{labelColumn}' must be text or a key with text values but is {l.Type}.", nameof(labelColumn)),
        };

        var names = classNames ?? UcrLoader.SortLabels(labels);
        var index = names.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i, StringComparer.Ordinal);
        var y = labels.Select(s => index.TryGetValue(s, out var i)
            ? i
            : throw new ArgumentException($"LMU experiment: the {what} data has label '{s}', unknown to the training data ({string.Join(", ", names)}).")).ToArray();
        var width = v.Size;
        var values = new float[labels.Length * width];
        var r = 0;
        foreach (var row in data.GetColumn<float[]>(featuresColumn))
        {
            row.CopyTo(values, r++ * width);
        }

        if (names.Count < 2 && classNames is null)
        {
            throw new ArgumentException($"LMU experiment: the training data has {names.Count} class(es); classification needs at least 2.");
        }

        return new LmuExperimentData(values, y, width / channels, channels, names);
    }

    /// <summary>Features [rows, T, C] and int64 targets for the given rows.</summary>
    public (Tensor X, Tensor Y) Tensors(IReadOnlyList<int> rows)
    {
        var width = Steps * Channels;
        var x = new float[rows.Count * width];
        var y = new long[rows.Count];
        for (var i = 0; i < rows.Count; i++)
        {
            Array.Copy(Values, rows[i] * width, x, i * width, width);
            y[i] = Labels[rows[i]];
        }

        return (torch.tensor(x, [rows.Count, Steps, Channels]), torch.tensor(y));
    }

    /// <summary>
    /// Stratified folds: each class's rows are shuffled with <paramref name="seed"/> and dealt round-robin, so every
    /// fold holds each class in proportion.
    /// </summary>
    public int[] Folds(int folds, int seed)
    {
        var fold = new int[Count];
        var rng = new Random(seed);
        var next = 0;
        foreach (var group in Enumerable.Range(0, Count).GroupBy(i => Labels[i]).OrderBy(g => g.Key))
        {
            var members = group.ToArray();
            rng.Shuffle(members);
            foreach (var m in members)
            {
                fold[m] = next++ % folds;
            }
        }

        return fold;
    }

    private static string[] KeyLabels(IDataView data, DataViewSchema.Column column)
    {
        VBuffer<ReadOnlyMemory<char>> keyValues = default;
        if (!column.HasKeyValues())
        {
            throw new ArgumentException($"LMU experiment: key label column '{column.Name}' has no key values; give the labels as text.");
        }

        column.GetKeyValues(ref keyValues);
        var names = keyValues.DenseValues().Select(m => m.ToString()).ToArray();
        return data.GetColumn<uint>(column.Name).Select(k => k == 0 ? throw new ArgumentException($"LMU experiment: label column '{column.Name}' has a missing key.") : names[k - 1]).ToArray();
    }
}
