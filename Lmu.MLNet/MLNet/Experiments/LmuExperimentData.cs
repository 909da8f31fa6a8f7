using System.Globalization;
using Lmu.MLNet.Data;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Experiments;

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

    /// <summary>
    /// Reads the columns; <paramref name="classNames"/> fixes the key order (else taken from this data). The values are
    /// kept step-major: with <paramref name="channelMajor"/> each row is read as [C, T] and transposed.
    /// </summary>
    public static LmuExperimentData Read(IDataView data, string labelColumn, string featuresColumn, int channels, IReadOnlyList<string>? classNames, string what, bool channelMajor = false)
    {
        var f = data.Schema.GetColumnOrNull(featuresColumn)
                ?? throw new ArgumentOutOfRangeException(nameof(featuresColumn), $"LMU experiment: features column '{featuresColumn}' not found in the {what} data; it has: {string.Join(", ", data.Schema.Where(c => !c.IsHidden).Select(c => c.Name))}.");
        if (f.Type is not VectorDataViewType { ItemType: NumberDataViewType, Size: > 0 } v || v.ItemType != NumberDataViewType.Single)
        {
            // ML.NET prints a VarVector's type as "Vector<Single>", which read as if a fixed size were refused (found by QA).
            var found = f.Type is VectorDataViewType { IsKnownSize: false } ? $"a VarVector<{((VectorDataViewType)f.Type).ItemType}>" : f.Type.ToString();
            // The data named: validation data of another type read as if the training data were at fault (types QA).
            throw new ArgumentException($"LMU experiment: features column '{featuresColumn}' of the {what} data must be a fixed-size Vector<Single> but is {found}.", nameof(featuresColumn));
        }

        if (v.Size % channels != 0)
        {
            throw new ArgumentException($"LMU experiment: features column '{featuresColumn}' has {v.Size} values, not a multiple of channels = {channels}.", nameof(channels));
        }

        var l = data.Schema.GetColumnOrNull(labelColumn)
                ?? throw new ArgumentOutOfRangeException(nameof(labelColumn), $"LMU experiment: label column '{labelColumn}' not found in the {what} data; it has: {string.Join(", ", data.Schema.Where(c => !c.IsHidden).Select(c => c.Name))}.");
        // A missing label (empty text, or the missing key 0) leaves its row out, as LmuClassifier does: the experiment
        // trained and predicted an empty text label as a class "" of its own, and refused a missing key (found by QA).
        string?[] all = l.Type switch
        {
            // Empty text is missing; a label of spaces is a class, as LmuClassifier and MapValueToKey read it.
            TextDataViewType => data.GetColumn<ReadOnlyMemory<char>>(labelColumn).Select(m => m.Length == 0 ? null : m.ToString()).ToArray(),
            KeyDataViewType => KeyLabels(data, l),
            // The data named: a wrong type in the validation data alone read as if the training data were at fault (QA).
            _ => throw new ArgumentException($"LMU experiment: label column '{labelColumn}' of the {what} data must be text or a key with key values but is {l.Type}; MapValueToKey(\"{labelColumn}\") makes a key of it.", what == "validation" ? "validationData" : nameof(labelColumn)),
        };
        var labels = all.OfType<string>().ToArray();
        if (labels.Length == 0)
        {
            var which = all.Length == 0 ? "rows" : $"labelled rows ({all.Length} rows, label column '{labelColumn}')";
            throw new ArgumentException($"LMU experiment: the {what} data has no {which}; it needs rows with a label to {(classNames is null ? "train" : "score")} on.");
        }

        // A key label's classes keep the key's order (slot k of Score is key k + 1, as ML.NET's evaluators read it);
        // sorting them inverted a key mapped as "up, down" and Evaluate reported 0 accuracy for a perfect model (found by QA).
        var names = classNames ?? (l.Type is KeyDataViewType ? KeyNames(l) : UcrLoader.SortLabels(labels));
        var index = names.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i, StringComparer.Ordinal);
        var y = labels.Select(s => index.TryGetValue(s, out var i)
            ? i
            : throw new ArgumentException($"LMU experiment: the {what} data has label '{s}', unknown to the training data ({string.Join(", ", names)}).")).ToArray();
        var width = v.Size;
        // The experiment holds its rows in one array (every trial's folds index into it); more values than an array
        // holds overflowed the int product unchecked (QA, read in the code).
        if ((long)labels.Length * width > Array.MaxLength)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"LMU experiment: the {what} data's {labels.Length:N0} labelled rows of {width:N0} values ({(long)labels.Length * width:N0} in all, {(long)labels.Length * width * sizeof(float) / 1e9:N1} GB as float32) exceed the {Array.MaxLength:N0} values the experiment can hold; run it on a sample of the rows (e.g. mlContext.Data.TakeRows or a stratified sample)."), nameof(data));
        }

        var values = new float[labels.Length * width];
        var r = 0;
        var read = 0;
        foreach (var row in data.GetColumn<float[]>(featuresColumn))
        {
            if (all[read++] is null)
            {
                continue;
            }

            if (row.Length != width)
            {
                // ML.NET passes an array of the wrong length through LoadFromEnumerable: a short row was padded with
                // zeros, a long one cut by the next row's values (review).
                throw new InvalidDataException(Scoring.VectorSizeRule.SizeMessage(data.Schema[featuresColumn], row.Length, $"LMU experiment: features column '{featuresColumn}', {what} row {read - 1}"));
            }

            // Checked here, before any trial: a NaN made every network trial diverge and the search spend its whole
            // budget on failures, blaming the learning rate (found by QA).
            var bad = Array.FindIndex(row, x => !float.IsFinite(x));
            if (bad >= 0)
            {
                throw new InvalidDataException(
                    string.Create(CultureInfo.InvariantCulture, $"LMU experiment: features column '{featuresColumn}', {what} row {read - 1}, slot {bad}: value {row[bad]}; expected a finite number (replace or drop missing values first, e.g. ReplaceMissingValues)."));
            }

            if (channelMajor)
            {
                ChannelLayout.Transpose(row, values.AsSpan(r++ * width, width), channels, width / channels);
            }
            else
            {
                row.CopyTo(values, r++ * width);
            }
        }

        // The classes that occur, not the names: a key label's names are all its key values, present or not (found by review).
        var present = y.Distinct().Count();
        if (present < 2 && classNames is null)
        {
            // The column named, as the classifier names it (found by QA).
            throw new ArgumentException($"LMU experiment: label column '{labelColumn}' has {present} distinct class(es) in the training data ({string.Join(", ", y.Distinct().Select(k => $"'{names[k]}'"))}); classification needs at least 2.");
        }

        return new LmuExperimentData(values, y, width / channels, channels, names);
    }

    /// <summary>
    /// Mean and standard deviation (population) of every slot (step x channel) over <paramref name="rows"/>: what
    /// ML.NET's <c>NormalizeMeanVariance(fixZero: false)</c> learns from the same rows. A constant slot gets scale 1.
    /// </summary>
    public (float[] Mean, float[] Scale) SlotStatistics(IReadOnlyList<int> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0) throw new ArgumentException("Slot statistics need at least one row; got none.", nameof(rows));
        var width = Steps * Channels;
        var sum = new double[width];
        var squares = new double[width];
        foreach (var r in rows)
        {
            for (var j = 0; j < width; j++)
            {
                double v = Values[r * width + j];
                sum[j] += v;
                squares[j] += v * v;
            }
        }

        var mean = new float[width];
        var scale = new float[width];
        for (var j = 0; j < width; j++)
        {
            var m = sum[j] / rows.Count;
            var sd = Math.Sqrt(Math.Max(squares[j] / rows.Count - m * m, 0));
            mean[j] = (float)m;
            scale[j] = sd > 1e-8 ? (float)sd : 1f;
        }

        return (mean, scale);
    }

    /// <summary>A copy with every slot standardised: (x - mean) / scale (see <see cref="SlotStatistics"/>).</summary>
    public LmuExperimentData Standardized(float[] mean, float[] scale)
    {
        var width = Steps * Channels;
        var values = new float[Values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            var j = i % width;
            values[i] = (Values[i] - mean[j]) / scale[j];
        }

        return new LmuExperimentData(values, Labels, Steps, Channels, ClassNames);
    }

    /// <summary>
    /// A copy whose every step holds this data's channels, then <paramref name="other"/>'s (same rows and steps):
    /// C + C' channels, e.g. the raw and the standardised values of each step side by side.
    /// </summary>
    public LmuExperimentData WithChannelsOf(LmuExperimentData other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Count != Count || other.Steps != Steps)
        {
            throw new ArgumentException($"Channels can be joined only for the same rows and steps: {Count} x {Steps} here, {other.Count} x {other.Steps} in the other data.", nameof(other));
        }

        var channels = Channels + other.Channels;
        var values = new float[Count * Steps * channels];
        for (var r = 0; r < Count; r++)
        {
            for (var t = 0; t < Steps; t++)
            {
                var to = (r * Steps + t) * channels;
                Array.Copy(Values, (r * Steps + t) * Channels, values, to, Channels);
                Array.Copy(other.Values, (r * Steps + t) * other.Channels, values, to + Channels, other.Channels);
            }
        }

        return new LmuExperimentData(values, Labels, Steps, channels, ClassNames);
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
    /// The given rows as an IDataView for ML.NET estimators: <paramref name="featuresColumn"/> a
    /// <c>Vector&lt;Single, Steps x Channels&gt;</c> (step-major, or channel-major with <paramref name="channelMajor"/>: the
    /// layout the user's column had), and <paramref name="labelColumn"/> a key over
    /// <see cref="ClassNames"/> (key k+1 is class k, with the names as KeyValues), the layout ML.NET's trainers expect.
    /// </summary>
    public IDataView ToDataView(MLContext ml, IReadOnlyList<int> rows, string featuresColumn, string labelColumn, bool channelMajor = false)
    {
        var width = Steps * Channels;
        var items = rows.Select(r => new KeyedRow { Features = RowIn(r, channelMajor), Label = (uint)Labels[r] }).ToList();
        var def = SchemaDefinition.Create(typeof(KeyedRow));
        var features = def[nameof(KeyedRow.Features)];
        features.ColumnName = featuresColumn;
        features.ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        var label = def[nameof(KeyedRow.Label)];
        label.ColumnName = labelColumn;
        label.ColumnType = new KeyDataViewType(typeof(uint), ClassNames.Count);
        var names = new VBuffer<ReadOnlyMemory<char>>(ClassNames.Count, ClassNames.Select(n => n.AsMemory()).ToArray());
        label.AddAnnotation("KeyValues", names, new VectorDataViewType(TextDataViewType.Instance, ClassNames.Count));
        return ml.Data.LoadFromEnumerable(items, def);
    }

    /// <summary>
    /// Stratified folds: each class's rows are shuffled with <paramref name="seed"/> and dealt round-robin, continuing
    /// across classes from fold 0, so every fold holds each class in proportion and fold sizes are within one row of each
    /// other. (Which fold a hold-out validates is drawn per repeat: <see cref="LmuExperimentSearch"/>.)
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

    private static string[] KeyNames(DataViewSchema.Column column)
    {
        // Key values of any type the classifier reads, as text: a number label keyed by MapValueToKey has Single ones
        // (refused as "no key values" before; found by QA).
        var annotation = column.Annotations.Schema["KeyValues"];
        try
        {
            return Classification.KeyValueText.ReadClassNames(column, annotation, (int)((KeyDataViewType)column.Type).Count).ToArray();
        }
        catch (ArgumentOutOfRangeException e)
        {
            // The experiment's messages start with its name, as they did before the check was shared (review).
            throw new ArgumentException("LMU experiment: " + e.Message, e);
        }
    }

    private static string?[] KeyLabels(IDataView data, DataViewSchema.Column column)
    {
        if (column.Annotations.Schema.GetColumnOrNull("KeyValues") is null)
        {
            throw new ArgumentException($"LMU experiment: key label column '{column.Name}' has no key values (class names); key it with MapValueToKey(\"{column.Name}\").");
        }

        var names = KeyNames(column);
        return data.GetColumn<uint>(column.Name).Select(k => k == 0 ? null : names[k - 1]).ToArray();
    }

    /// <summary>Row <paramref name="r"/>'s values, step-major as kept or transposed to channel-major.</summary>
    private float[] RowIn(int r, bool channelMajor)
    {
        var width = Steps * Channels;
        var row = Values.AsSpan(r * width, width);
        if (!channelMajor) return row.ToArray();
        var transposed = new float[width];
        ChannelLayout.Transpose(row, transposed, Steps, Channels);
        return transposed;
    }

    /// <summary>Row type of <see cref="ToDataView"/>.</summary>
    private sealed class KeyedRow
    {
        public float[] Features { get; set; } = [];

        /// <summary>The class index: a key-typed uint property is 0-based in ML.NET 5.0.1 (measured: 1 reads back as key 2).</summary>
        public uint Label { get; set; }
    }
}
