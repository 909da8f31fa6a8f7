using System.Globalization;
using Lmu.MLNet.Classification;
using Lmu.MLNet.Maths;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Ridge;

/// <summary>
/// Multiclass ridge classifier: one-vs-rest least squares on standardised features with targets +1/-1, the penalty
/// chosen by exact leave-one-out error (<see cref="RidgeClassifierOptions.Alphas"/>). It is the linear model that suits
/// thousands of random pooled features over tens or hundreds of rows (<see cref="LmuPooledFeaturizerEstimator"/>), and
/// has no hyperparameter to tune. The fitted model is an ONNX graph carried by ML.NET's OnnxTransformer: it saves in the
/// .zip, and its outputs are ML.NET's native multiclass columns (Score with SlotNames, a key PredictedLabel), so
/// <c>mlContext.MulticlassClassification.Evaluate</c> reads them.
/// </summary>
/// <remarks>
/// Score is the softmax of the decision values: its arg-max and ranking are meaningful, but it is not a calibrated
/// probability (log-loss from it says little). Training holds the standardised features in memory as float64, and
/// solves on the smaller side of the data: for n rows of p features <c>O(n^2 p + |Alphas| n^3 / 3)</c> up to n = p,
/// <c>O(n p^2 + |Alphas| (p^3 / 3 + n p^2 / 2))</c> beyond, with two float64 matrices of that side, min(n, p) squared.
/// A Fit that would need more memory than the process may use is refused, naming the rows it read, before the memory is
/// taken. Fits from the catalog write the plan and each penalty's leave-one-out error to the context's Log.
/// </remarks>
public sealed class RidgeClassifierTrainer : IEstimator<RidgeClassifierTransformer>
{
    private readonly RidgeClassifierOptions _options;
    private readonly string? _tempFolder;
    private readonly Func<bool>? _contextCanceled;
    private readonly Func<Microsoft.ML.Runtime.IChannel>? _log;

    /// <summary>Creates the trainer; the options are validated and copied. Its temp files go to the system temp folder.</summary>
    public RidgeClassifierTrainer(RidgeClassifierOptions options)
        : this(options, null)
    {
    }

    /// <summary>
    /// The catalog's trainer: temp files where the context's TempFilePath says, and the context's CancelExecution
    /// (<paramref name="contextCanceled"/>) stops a Fit as a token would (it was not observed at all; found by QA).
    /// </summary>
    internal RidgeClassifierTrainer(RidgeClassifierOptions options, string? tempFolder, Func<bool>? contextCanceled = null, Func<Microsoft.ML.Runtime.IChannel>? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options.Clone();
        _tempFolder = tempFolder;
        _contextCanceled = contextCanceled;
        _log = log;
    }

    /// <summary>
    /// The most memory a Fit may plan to hold (the rows in float64 and the solver's two square matrices); more is refused
    /// before it is allocated. Default (null): at the Fit's start, what the runtime says this process may use
    /// (<see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>: physical memory, or the container's or the GC's hard
    /// limit) less what the process holds (its working set, native memory included), and on Linux at most what the
    /// system still has (<c>MemAvailable</c>; see <see cref="AvailableMemory"/>). Tests set it.
    /// </summary>
    internal long? MemoryLimitBytes { get; init; }

    /// <summary>
    /// Bytes a Fit plans for <paramref name="count"/> rows of <paramref name="width"/> features: each row's float64
    /// array with its header and its list slot (with the list's growth) and label, then the solver's two matrices.
    /// Counting the values alone let 6,000,000 rows of 4 features through a 335 MB limit and into an
    /// OutOfMemoryException (review): there the overhead is half of each row.
    /// </summary>
    internal static long PlannedBytes(int count, int width) =>
        ((long)count * (((long)width * sizeof(double)) + RowOverheadBytes)) + RidgeLeaveOneOut.WorkingBytes(count, width);

    /// <summary>Per row beyond its values: the array header (24 bytes), two list slots of 8 (the growth copy) and two labels of 4.</summary>
    internal const int RowOverheadBytes = 48;

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        var o = _options;
        RefuseSkippedNames();
        ClassifierInputLayout.RefuseReservedNames(inputSchema.Select(c => c.Name), o.FeatureColumnName, nameof(inputSchema), "RidgeClassifier");
        var features = inputSchema.FirstOrDefault(c => c.Name == o.FeatureColumnName);
        if (features.Name is null || features.Kind != SchemaShape.Column.VectorKind.Vector || features.ItemType != NumberDataViewType.Single)
        {
            throw new ArgumentOutOfRangeException(nameof(inputSchema), features.Name is null
                ? $"RidgeClassifier: features column '{o.FeatureColumnName}' not found."
                : $"RidgeClassifier: features column '{o.FeatureColumnName}' must be a fixed-size Vector<Single> but is {features.Kind} of {features.ItemType}.");
        }

        var label = inputSchema.FirstOrDefault(c => c.Name == o.LabelColumnName);
        if (label.Name is null || label.Kind != SchemaShape.Column.VectorKind.Scalar || !label.IsKey)
        {
            throw new ArgumentOutOfRangeException(nameof(inputSchema), label.Name is null
                ? $"RidgeClassifier: label column '{o.LabelColumnName}' not found."
                : $"RidgeClassifier: label column '{o.LabelColumnName}' must be a scalar key but is {label.Kind} of {label.ItemType}; map it with MapValueToKey first.");
        }

        var score = SchemaShapes.Column(o.ScoreColumnName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false, SchemaShapes.TextAnnotation("SlotNames"));
        var predicted = SchemaShapes.Column(o.PredictedLabelColumnName, SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.UInt32, true, SchemaShapes.TextAnnotation("KeyValues"));
        return SchemaShapes.With(inputSchema, score, predicted);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or of the wrong type, or the label's key has fewer
    /// than two values (as MapValueToKey makes it from one-class data).</exception>
    /// <exception cref="InvalidDataException">A feature is NaN or infinite (the message names the column, row and slot).</exception>
    /// <exception cref="InvalidOperationException">Fewer than two labelled rows, or fewer than two classes present in the
    /// rows (the key has more); or the rows and the solver's matrices would need more memory than the process may use
    /// (the message names the rows read, the bytes needed and the limit; thrown before that memory is taken).</exception>
    public RidgeClassifierTransformer Fit(IDataView input) => Fit(input, CancellationToken.None);

    /// <summary>
    /// <see cref="Fit(IDataView)"/> that stops with <see cref="OperationCanceledException"/> within one row of the
    /// read or of one pass of the solver once <paramref name="cancellationToken"/> is cancelled (the LMU experiment's
    /// time budget; the read also drives any lazy featurizer upstream, row by row).
    /// </summary>
    internal RidgeClassifierTransformer Fit(IDataView input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (_contextCanceled is null)
        {
            return FitCore(input, cancellationToken);
        }

        // The context's flag has no token: ContextCancellation polls it into one, so the read and the solver stop within
        // a row or a pass of it, as they do for a token.
        ThrowIfContextCanceled(null);
        using var cancellation = new ContextCancellation(_contextCanceled, cancellationToken);
        RidgeClassifierTransformer fitted;
        try
        {
            fitted = FitCore(input, cancellation.Token);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            ThrowIfContextCanceled(e);
            throw;
        }

        // A Fit shorter than the poll finished on a context cancelled meanwhile (review): its model is not returned.
        if (_contextCanceled())
        {
            fitted.Dispose();
            ThrowIfContextCanceled(null);
        }

        return fitted;
    }

    private void ThrowIfContextCanceled(Exception? inner)
    {
        if (_contextCanceled!())
        {
            throw new OperationCanceledException("RidgeClassifier: Fit was cancelled through its MLContext (MLContext.CancelExecution).", inner);
        }
    }

    private RidgeClassifierTransformer FitCore(IDataView input, CancellationToken cancellationToken)
    {
        var o = _options;
        var (featureColumn, labelColumn, classNames) = CheckSchema(input.Schema);
        // Before the read and the solve, which take minutes on large data, as the LMU estimators do (see EstimatorTraining).
        OnnxCarrier.ProbeTempFolder(_tempFolder ?? Path.GetTempPath());
        var width = ((VectorDataViewType)featureColumn.Type).Size;
        var (limit, source) = MemoryLimitBytes is { } set ? (set, "the limit set") : AvailableMemory.Now();
        List<double[]> rows;
        List<int> labels;
        try
        {
            (rows, labels) = Read(input, featureColumn, labelColumn, width, (limit, source), cancellationToken);
        }
        catch (OutOfMemoryException e)
        {
            throw OutOfPlan(e, "reading the rows", width, limit, source);
        }

        if (rows.Count < 2 || labels.Distinct().Count() < 2)
        {
            throw new InvalidOperationException(
                $"RidgeClassifier: the training data has {rows.Count} labelled rows in {labels.Distinct().Count()} classes (label column '{o.LabelColumnName}'); at least two rows of two classes are needed.");
        }

        var (mean, std) = Standardize(rows);
        var k = classNames.Count;
        var targets = new double[rows.Count, k];
        var targetMean = new double[k];
        for (var i = 0; i < rows.Count; i++)
        {
            for (var c = 0; c < k; c++)
            {
                targets[i, c] = labels[i] == c ? 1 : -1;
                targetMean[c] += targets[i, c] / rows.Count;
            }
        }

        for (var i = 0; i < rows.Count; i++)
        {
            for (var c = 0; c < k; c++)
            {
                targets[i, c] -= targetMean[c];
            }
        }

        var side = RidgeLeaveOneOut.SideFor(rows.Count, width);
        var working = RidgeLeaveOneOut.WorkingBytes(rows.Count, width);
        using var log = _log?.Invoke();
        log?.Info(Microsoft.ML.Runtime.MessageSensitivity.None, string.Create(CultureInfo.InvariantCulture,
            $"{rows.Count:N0} rows of {width:N0} features: {RidgeLeaveOneOut.FormFor(rows.Count, width)} form, {o.Alphas.Count} penalties on a {side:N0} x {side:N0} matrix ({(working < 1e6 ? "under 1" : (working / 1e6).ToString("N0", CultureInfo.InvariantCulture))} MB besides the rows)."));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        RidgeLeaveOneOut.Result fit;
        try
        {
            fit = RidgeLeaveOneOut.Fit(rows, targets, o.Alphas, cancellationToken, (index, error) => log?.Info(Microsoft.ML.Runtime.MessageSensitivity.None, string.Create(CultureInfo.InvariantCulture,
                $"penalty {index + 1} of {o.Alphas.Count} (alpha {o.Alphas[index]:G4}): leave-one-out error {error:G6}, {clock.Elapsed.TotalSeconds:F1} s since the solve began.")));
        }
        catch (OutOfMemoryException e)
        {
            throw OutOfPlan(e, $"solving for {rows.Count:N0} rows", width, limit, source);
        }

        // The scale folds into the weights; the mean stays a subtraction in the graph, because folding it into the bias
        // (b - mean . w) cancels catastrophically in float32 for a feature with a large offset and a small spread.
        var weights = fit.Weights;
        for (var f = 0; f < width; f++)
        {
            for (var c = 0; c < k; c++)
            {
                weights[f, c] /= std[f];
            }
        }

        var ml = OnnxCarrier.Context(_tempFolder);
        var outputs = OnnxCarrier.MulticlassExportOptions(o.FeatureColumnName, classNames, o.ScoreColumnName).Classifier!;
        var bytes = RidgeClassifierGraph.Build(o.FeatureColumnName, mean, weights, targetMean, outputs);
        var chain = OnnxCarrier.CreateMulticlass(ml, bytes, input, [o.FeatureColumnName], classNames, o.ScoreColumnName, o.PredictedLabelColumnName);
        return new RidgeClassifierTransformer(chain, o.Clone(), fit.Alpha, fit.LeaveOneOutErrors, classNames, mean, weights, targetMean);
    }

    /// <summary>
    /// The refusal for an allocation the plan allowed but the runtime could not place. Under a small GC heap hard limit the
    /// GC's own room (its regions, the large-object heap's free space) is not in the plan, and wide rows failed as an
    /// OutOfMemoryException, which callers (the LMU experiment among them) treat as fatal to the process (regression QA:
    /// 2,000 rows of 12,000 features under 150 MB). The failed array was never taken, so the process carries on.
    /// </summary>
    private static InvalidOperationException OutOfPlan(OutOfMemoryException e, string stage, int width, long limit, string source) =>
        new(string.Create(CultureInfo.InvariantCulture,
            $"RidgeClassifier: ran out of memory while {stage} of {width:N0} features, within the {Size(limit)} its plan allowed ({source}); the runtime could not place the arrays (a small GC heap hard limit leaves little room for large ones). Use fewer rows or features, or raise the limit."),
            e);

    private void RefuseSkippedNames() =>
        OnnxCarrier.RefuseSkippedNames("RidgeClassifier", ("features", _options.FeatureColumnName), ("score", _options.ScoreColumnName));

    /// <summary>Resolves the columns and the class names (the label's KeyValues, else the key numbers 1..K).</summary>
    private (DataViewSchema.Column Features, DataViewSchema.Column Label, IReadOnlyList<string> Classes) CheckSchema(DataViewSchema schema)
    {
        var o = _options;
        RefuseSkippedNames();
        ClassifierInputLayout.RefuseReservedNames(schema.Where(c => !c.IsHidden).Select(c => c.Name), o.FeatureColumnName, nameof(schema), "RidgeClassifier");
        var available = string.Join(", ", schema.Select(c => c.Name));
        var features = schema.GetColumnOrNull(o.FeatureColumnName)
                       ?? throw new ArgumentOutOfRangeException(nameof(schema), $"RidgeClassifier: features column '{o.FeatureColumnName}' not found; the data has: {available}.");
        if (features.Type is not VectorDataViewType { Size: > 0 } vector || vector.ItemType != NumberDataViewType.Single)
        {
            // A variable-size vector prints as Vector<Single> too: "must be a fixed-size Vector<Single> but is
            // Vector<Single>" (found by QA).
            var actual = features.Type is VectorDataViewType { Size: 0 } ? $"a variable-size {features.Type}" : features.Type.ToString();
            throw new ArgumentOutOfRangeException(nameof(schema), $"RidgeClassifier: features column '{o.FeatureColumnName}' must be a fixed-size Vector<Single> but is {actual}.");
        }

        var label = schema.GetColumnOrNull(o.LabelColumnName)
                    ?? throw new ArgumentOutOfRangeException(nameof(schema), $"RidgeClassifier: label column '{o.LabelColumnName}' not found; the data has: {available}.");
        if (label.Type is not KeyDataViewType key || key.RawType != typeof(uint) || key.Count < 2 || key.Count > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(
                nameof(schema), $"RidgeClassifier: label column '{o.LabelColumnName}' must be a UInt32 key of at least 2 values but is {label.Type}; " +
                // A Key<Byte> was said to hold fewer than 2 classes (found by QA).
                (label.Type is KeyDataViewType k && k.RawType != typeof(uint) ? $"its keys are {k.RawType.Name} values; map the labels with MapValueToKey, which makes UInt32 keys."
                    : label.Type is KeyDataViewType ? "the data holds fewer than 2 classes (or no rows)." : "map it with MapValueToKey first."));
        }

        var count = (int)key.Count;
        var annotation = label.Annotations.Schema.GetColumnOrNull("KeyValues");
        var names = annotation is null
            ? Enumerable.Range(1, count).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray()
            : KeyValueText.ReadClassNames(label, annotation.Value, count);
        return (features, label, names);
    }

    private static (List<double[]> Rows, List<int> Labels) Read(IDataView input, DataViewSchema.Column featureColumn, DataViewSchema.Column labelColumn, int width, (long Bytes, string Source) limit, CancellationToken cancellationToken)
    {
        var rows = new List<double[]>();
        var labels = new List<int>();
        using var cursor = input.GetRowCursor([featureColumn, labelColumn]);
        var getFeatures = cursor.GetGetter<VBuffer<float>>(featureColumn);
        var getLabel = cursor.GetGetter<uint>(labelColumn);
        var classes = ((KeyDataViewType)labelColumn.Type).Count;
        var buffer = default(VBuffer<float>);
        var dense = new float[width];
        uint label = 0;
        while (cursor.MoveNext())
        {
            cancellationToken.ThrowIfCancellationRequested();
            getLabel(ref label);
            // Key 0 is a missing label: such a row is skipped (before its features are read or checked), as ML.NET's
            // trainers do.
            if (label == 0)
            {
                continue;
            }

            if (label > classes)
            {
                // An IDataView of the user's own can hold a key past its type's count: it trained as no class (types QA).
                throw new InvalidDataException(
                    $"RidgeClassifier: label column '{labelColumn.Name}', row {cursor.Position}: key {label} is outside its type {labelColumn.Type} (keys 1 to {classes}; 0 is the missing key).");
            }

            CheckMemory(featureColumn, rows.Count + 1, width, limit);
            getFeatures(ref buffer);
            if (buffer.Length != width)
            {
                throw new InvalidDataException(Scoring.VectorSizeRule.SizeMessage(featureColumn, buffer.Length, $"RidgeClassifier: features column '{featureColumn.Name}', row {cursor.Position}"));
            }

            buffer.CopyTo(dense);
            var row = new double[width];
            for (var f = 0; f < width; f++)
            {
                if (!float.IsFinite(dense[f]))
                {
                    throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                        $"RidgeClassifier: features column '{featureColumn.Name}', row {cursor.Position}, slot {f}: expected a finite value but found {dense[f]}."));
                }

                row[f] = dense[f];
            }

            rows.Add(row);
            labels.Add((int)label - 1);
        }

        return (rows, labels);
    }

    /// <summary>
    /// Refuses to read row <paramref name="count"/> when the rows so far and the solver's matrices for them
    /// (<see cref="PlannedBytes"/>) would not fit in <paramref name="limit"/>: past that, the process would fail on an
    /// allocation or, where the system overcommits memory, be killed while writing it. An
    /// <see cref="InvalidOperationException"/>, not an <see cref="OutOfMemoryException"/>: nothing ran out, and callers
    /// (the LMU experiment among them) treat the latter as fatal to the process.
    /// </summary>
    private static void CheckMemory(DataViewSchema.Column featureColumn, int count, int width, (long Bytes, string Source) limit)
    {
        var needed = PlannedBytes(count, width);
        if (needed > limit.Bytes)
        {
            var side = RidgeLeaveOneOut.SideFor(count, width);
            // A limit at or below zero is a process that already holds all it may use: "more than the -0.02 GB this process
            // may still use" for "1 rows ... about 0.00 GB" read as a bug (found under a 160 MB heap).
            // Equal at one decimal (review: "229.0 MB, more than the 229.0 MB"): in bytes.
            var (neededText, roomText) = Size(needed) == Size(limit.Bytes)
                ? (string.Create(CultureInfo.InvariantCulture, $"{needed:N0} bytes"), string.Create(CultureInfo.InvariantCulture, $"{limit.Bytes:N0} bytes"))
                : (Size(needed), Size(limit.Bytes));
            var room = limit.Bytes > 0
                ? $"more than the {roomText} this process may still use ({limit.Source})"
                : $"and this process has no memory left to give them: it already holds all it may use ({limit.Source}, {Size(limit.Bytes)})";
            var what = string.Create(CultureInfo.InvariantCulture,
                $"RidgeClassifier: {count:N0} {(count == 1 ? "row" : "rows")} of features column '{featureColumn.Name}' ({width:N0} features) {(count == 1 ? "needs" : "need")} about {neededText} (the rows in float64 and two {side:N0} x {side:N0} float64 matrices), {room}; nothing was allocated for them. The read stopped at the row that crossed the limit: the data may hold more rows.");
            throw new InvalidOperationException(what +
                " To fix: train on a sample of the rows, or on fewer features (LmuPooledFeaturizerOptions.Windows or ProjectionsPerWindow), or use a trainer that streams its rows, such as SdcaMaximumEntropy.");
        }
    }

    /// <summary>
    /// Bytes for a message: GB from 1 GB on, else MB, so that a small plan does not read "about 0.00 GB" (it did under
    /// small limits).
    /// </summary>
    internal static string Size(long bytes) =>
        Math.Abs(bytes) >= 1e9
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e9:N2} GB")
            : string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e6:N1} MB");

    /// <summary>Standardises the rows in place; a constant feature (std below 1e-12) is only centred.</summary>
    private static (double[] Mean, double[] Std) Standardize(List<double[]> rows)
    {
        var width = rows[0].Length;
        var mean = new double[width];
        var std = new double[width];
        foreach (var row in rows)
        {
            for (var f = 0; f < width; f++)
            {
                mean[f] += row[f] / rows.Count;
            }
        }

        foreach (var row in rows)
        {
            for (var f = 0; f < width; f++)
            {
                var d = row[f] - mean[f];
                std[f] += d * d / rows.Count;
            }
        }

        // Constant means constant relative to the feature's own magnitude (the rounding of the sums above is about 1e-16
        // of it): an absolute 1e-12 dropped every feature of data in small units, scaled by 1e-13 (found by QA: all scores
        // equal, accuracy at chance, where the same data unscaled scored 0.78).
        var largest = new double[width];
        foreach (var row in rows)
        {
            for (var f = 0; f < width; f++)
            {
                largest[f] = Math.Max(largest[f], Math.Abs(row[f]));
            }
        }

        for (var f = 0; f < width; f++)
        {
            std[f] = Math.Sqrt(std[f]);
            if (std[f] <= 1e-12 * largest[f] || std[f] == 0)
            {
                std[f] = 1;
            }
        }

        foreach (var row in rows)
        {
            for (var f = 0; f < width; f++)
            {
                row[f] = (row[f] - mean[f]) / std[f];
            }
        }

        return (mean, std);
    }
}
