using System.Diagnostics;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Network;
using Lmu.MLNet.Onnx;
using Lmu.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Classification;

/// <summary>
/// Trains an LMU sequence classifier (an LMU layer and a dense head, trained jointly with TorchSharp) on a column of
/// flattened sequences. Create it with <c>mlContext.Transforms.LmuClassifier(...)</c>,
/// <c>mlContext.MulticlassClassification.Trainers.Lmu(...)</c> or this type's constructor.
/// </summary>
/// <remarks>
/// Fit checks the schema and the options, then streams the data once to find the classes and reject bad values
/// (NaN/Infinity, bad lengths, empty data, fewer than two classes), all before training starts. Training streams
/// shuffled batches from IDataView cursors every epoch. The MLContext's seed, Log, GpuDeviceId/FallbackToCpu and
/// cancellation govern training (see <see cref="LmuClassifierOptions"/>). A cancelled or failed Fit returns nothing
/// and leaves no file behind.
/// </remarks>
public sealed class LmuClassifierEstimator : IEstimator<LmuClassifierTransformer>
{
    private const string HostName = "LmuClassifier";
    private readonly MLContextBridge _context;
    private readonly LmuClassifierOptions _options;

    /// <summary>An estimator governed by <paramref name="mlContext"/> (seed, Log, GPU settings, cancellation).</summary>
    public LmuClassifierEstimator(MLContext mlContext, LmuClassifierOptions options)
        : this(MLContextBridge.FromContext(mlContext, HostName), options)
    {
    }

    internal LmuClassifierEstimator(MLContextBridge context, LmuClassifierOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _context = context;
        _options = options.Clone();
    }

    /// <summary>Tests only: sees the trained network (on the CPU, eval mode) before it is disposed.</summary>
    internal Action<LmuNetwork>? InspectTrainedNetwork { get; set; }

    /// <summary>A copy of the options this estimator trains with.</summary>
    public LmuClassifierOptions Options => _options.Clone();

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var features = inputSchema.FirstOrDefault(c => c.Name == _options.FeatureColumnName);
        if (features.Name is null)
        {
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"The features column '{_options.FeatureColumnName}' was not found in the input schema.");
        }

        if (features.Kind == SchemaShape.Column.VectorKind.Scalar || features.ItemType != NumberDataViewType.Single || features.IsKey)
        {
            throw new ArgumentOutOfRangeException(
                nameof(inputSchema), $"Features column '{_options.FeatureColumnName}' is {features.Kind} of {features.ItemType}; expected Vector<Single> or VarVector<Single>.");
        }

        var label = inputSchema.FirstOrDefault(c => c.Name == _options.LabelColumnName);
        if (label.Name is null)
        {
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"The label column '{_options.LabelColumnName}' was not found in the input schema.");
        }

        // The item type too (found by QA: a Single label passed here and was refused only by Fit).
        if (label.Kind != SchemaShape.Column.VectorKind.Scalar
            || !(label.IsKey || label.ItemType == TextDataViewType.Instance || label.ItemType == BooleanDataViewType.Instance))
        {
            throw new ArgumentOutOfRangeException(
                nameof(inputSchema),
                $"Label column '{_options.LabelColumnName}' is {label.Kind} of {label.ItemType}; expected a scalar key (MapValueToKey), text or boolean.");
        }

        ClassifierInputLayout.RefuseReservedNames(inputSchema.Select(c => c.Name), _options.FeatureColumnName, nameof(inputSchema));
        ClassifierInputLayout.RefuseSkippedNames(_options);

        if (_options.LengthColumnName is { } lengthName)
        {
            var length = inputSchema.FirstOrDefault(c => c.Name == lengthName);
            if (length.Name is null)
            {
                throw new ArgumentOutOfRangeException(nameof(inputSchema), $"The sequence-length column '{lengthName}' was not found in the input schema.");
            }

            if (length.Kind != SchemaShape.Column.VectorKind.Scalar || length.IsKey || !ClassifierInputLayout.IsLengthType(length.ItemType))
            {
                throw new ArgumentOutOfRangeException(
                    nameof(inputSchema), $"Sequence-length column '{lengthName}' is {length.Kind} of {length.ItemType}; expected a scalar Single, Int32, UInt32 or Int64.");
            }
        }

        var score = SchemaShapes.Column(
            _options.ScoreColumnName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false, SchemaShapes.TextAnnotation("SlotNames"));
        var predicted = SchemaShapes.Column(
            _options.PredictedLabelColumnName, SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.UInt32, true, SchemaShapes.TextAnnotation("KeyValues"));
        if (features.Kind == SchemaShape.Column.VectorKind.VariableVector)
        {
            // Transform reads a VarVector features column padded to the fixed size the model takes (PaddedFeaturesView),
            // so the output holds a known-size vector there; reporting the input's VarVector misled the next estimator.
            var padded = SchemaShapes.Column(features.Name, SchemaShape.Column.VectorKind.Vector, features.ItemType, false);
            return SchemaShapes.With(inputSchema, padded, score, predicted);
        }

        return SchemaShapes.With(inputSchema, score, predicted);
    }

    /// <summary>Trains; throws before training on bad options or data, and <see cref="OperationCanceledException"/> when cancelled.</summary>
    public LmuClassifierTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var clock = Stopwatch.StartNew();
        var o = _options;
        var layout = ClassifierInputLayout.Create(input.Schema, o);
        ClassifierInputLayout? validationLayout = null;
        if (o.ValidationData is not null)
        {
            try
            {
                validationLayout = ClassifierInputLayout.Create(o.ValidationData.Schema, o);
            }
            catch (ArgumentOutOfRangeException e) when (e.ParamName == "schema")
            {
                // The same words as for the training data, where the training data was fine (types QA): say which.
                throw new ArgumentOutOfRangeException(nameof(LmuClassifierOptions.ValidationData), $"In ValidationData: {e.Message.Replace(" (Parameter 'schema')", string.Empty, StringComparison.Ordinal)}");
            }

            if (validationLayout.LabelKind != layout.LabelKind)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(input), $"Label column '{o.LabelColumnName}' is {validationLayout.Label.Type} in the validation data but {layout.Label.Type} in the training data.");
            }

            // Narrower fixed-size validation rows are read as shorter sequences, left-padded as variable-size rows are
            // (ClassifierInputLayoutTests); the fitted model's Transform refuses that size, so say so (QA took it for a
            // silent mistake; a wider one is refused while the rows are read).
            int trainedSize = Scoring.VectorSizeRule.KnownSize(layout.Features), validSize = Scoring.VectorSizeRule.KnownSize(validationLayout.Features);
            if (trainedSize > 0 && validSize > 0 && validSize < trainedSize)
            {
                _context.Warning(
                    "Data",
                    $"Features column '{o.FeatureColumnName}' has {validSize} values per row in the validation data and {trainedSize} in the training data: the " +
                    $"validation rows are read as shorter sequences, zero-padded in front. The fitted model scores Vector<Single, {trainedSize}> (or variable-size) rows; " +
                    "if the validation column is not the same kind of data, pass the right one.");
            }
        }

        // Before the device is resolved: a process's first Fit loads libtorch there, and a token cancelled before Fit took
        // 1.9 s to be honoured (concurrency QA).
        ThrowIfCanceled();
        var run = EstimatorTraining.Start(
            _context, o.Training, $"{nameof(LmuClassifierOptions)}.{nameof(o.Training)}.{nameof(o.Training.Device)}");
        var (seed, device) = (run.Seed, run.Device);
        ThrowIfCanceled();
        var scan = TrainingDataScan.Run(input, layout, () => IsCanceled);
        var steps = scan.SequenceLength;
        _context.Info("Data", $"{scan.Rows} training rows ({scan.MissingLabels} without a label skipped), {scan.Classes.Names.Count} classes, sequence length {steps} x {o.Channels} channels; seed {seed}, device {device}.");

        WarnOfAShortRun(scan.Rows, o);
        WarnOfLargeInputs(scan.LargestMagnitude, o);
        var ml = new MLContext(seed) { TempFilePath = _context.TempFilePath };
        IDataView train = input;
        IDataView? validation = o.ValidationData;
        if (validation is null && o.ValidationFraction > 0)
        {
            var split = ml.Data.TrainTestSplit(input, o.ValidationFraction, seed: seed);
            (train, validation) = (split.TrainSet, split.TestSet);
        }

        // A batch larger than the data holds all of it, so its buffer is sized by the rows (a BatchSize near
        // int.MaxValue overflowed the buffer's size on 30 rows; found by QA); the batches are the same. Validation rows
        // of unknown count are scored in batches of at most 65,536 (only the loss's summation order can differ).
        var batch = (int)Math.Min(o.Training.BatchSize, Math.Max(1, scan.Rows));
        var validBatch = (int)Math.Min(o.Training.BatchSize, Math.Max(1, validation?.GetRowCount() ?? 1 << 16));
        var trainSource = new DataViewBatchSource(train, layout, scan.Classes, steps, batch, seed, ShufflePool(scan.Rows, steps * o.Channels), "training", ThrowIfCanceled);
        var validSource = validation is null
            ? null
            : new DataViewBatchSource(validation, validationLayout ?? layout, scan.Classes, steps, validBatch, null, o.ShufflePoolSize, "validation", ThrowIfCanceled);
        if (validSource is not null)
        {
            CheckValidation(validSource, o.ValidationData is null
                ? $" ValidationFraction = {o.ValidationFraction} of the {scan.Rows} labelled training rows gave it (ML.NET's TrainTestSplit rounds, so few rows can give none): use more rows, a larger fraction, or ValidationData."
                : string.Empty);
        }

        var (spec, result, parameters, thetas) = run.Run(
            NetworkOptions(scan.Classes.Names.Count, steps), trainSource, validSource, LmuLoss.CrossEntropy, o.TorchThreads, o.Progress, o.CancellationToken,
            (network, result) =>
            {
                InspectTrainedNetwork?.Invoke(network);
                return (network.ToSpec(steps), result, network.ParameterCount, network.LayerThetas());
            });
        // A cancel after the last epoch: the export and the carrier's session still take 0.1-1.5 s, and the model was
        // returned (QA: 1.2-1.5 s after Cancel under a collecting thread).
        ThrowIfCanceled();
        var classNames = scan.Classes.Names;
        var lengthType = layout.Length?.Type;
        var export = OnnxCarrier.MulticlassExportOptions(o.FeatureColumnName, classNames, o.ScoreColumnName).WithChannelMajor(layout.InputLayout == LmuInputLayout.ChannelMajor);
        IReadOnlyList<string> inputs = [o.FeatureColumnName];
        if (lengthType is not null)
        {
            export = export.WithLength(o.LengthColumnName!, ClassifierInputLayout.LengthElementType(lengthType));
            inputs = [o.FeatureColumnName, o.LengthColumnName!];
        }

        var bytes = LmuOnnxExporter.Export(spec, export);
        var chain = OnnxCarrier.CreateMulticlass(
            ml, bytes, ScoringSchemaView(ml, o.FeatureColumnName, steps * o.Channels, o.LengthColumnName, lengthType), inputs, classNames,
            o.ScoreColumnName, o.PredictedLabelColumnName);
        var info = new LmuClassifierModelInfo
        {
            ClassNames = classNames, FeatureColumnName = o.FeatureColumnName, LabelColumnName = o.LabelColumnName, SequenceLength = steps,
            LengthColumnName = lengthType is null ? null : o.LengthColumnName, LengthType = lengthType,
            Channels = o.Channels, InputLayout = o.InputLayout, ParameterCount = parameters, Seed = seed, Device = device, TrainingRows = scan.Rows, History = result.History,
            BestEpoch = result.BestEpoch, FitTime = clock.Elapsed, LayerThetas = thetas,
        };
        Canceled(chain);
        _context.Info("Training", string.Create(System.Globalization.CultureInfo.InvariantCulture, $"done: {parameters} parameters, best epoch {result.BestEpoch}, {clock.Elapsed.TotalSeconds:F1} s."));
        return new LmuClassifierTransformer(chain, spec, info);
    }

    private LmuNetworkOptions NetworkOptions(int classes, int steps)
    {
        var network = _options.NetworkOptions(classes, _options.ThetaFromSequenceLength ? steps : null);
        try
        {
            network.Validate();
        }
        catch (ArgumentException e) when (_options.ThetaFromSequenceLength && e.ParamName?.EndsWith("Theta", StringComparison.Ordinal) == true)
        {
            // The theta refused is not one the caller wrote: say where it came from.
            throw new ArgumentException(
                $"{nameof(LmuClassifierOptions)}.{nameof(LmuClassifierOptions.ThetaFromSequenceLength)} (true) sets each layer's Theta to the sequence length, {steps}: " +
                $"{e.Message.Replace($" (Parameter '{e.ParamName}')", string.Empty, StringComparison.Ordinal)} Or set ThetaFromSequenceLength = false and a Theta.",
                e.ParamName, e);
        }

        EstimatorTraining.WarnOfALongTheta(_context, network, steps, $"{nameof(LmuClassifierOptions)}.{nameof(LmuClassifierOptions.Layer)}");
        EstimatorTraining.WarnOfTooManyThreads(_context, _options.TorchThreads, $"{nameof(LmuClassifierOptions)}.{nameof(LmuClassifierOptions.TorchThreads)}");
        return network;
    }

    /// <summary>
    /// The shuffle pool's rows: ShufflePoolSize, at most the rows there are (the pool is allocated whole, where ML.NET's
    /// grew as rows came: review), refused before training when it cannot be one array (a full shuffle of very long rows).
    /// </summary>
    private int ShufflePool(long rows, int width)
    {
        var pool = (int)Math.Min(_options.ShufflePoolSize, Math.Max(1, rows));
        var values = (pool + 1L) * width;
        var bytes = (values * sizeof(float)) + ((pool + 1L) * 2 * sizeof(long));
        var (left, source) = Ridge.AvailableMemory.Now();
        if (values > Array.MaxLength || bytes > left)
        {
            var most = Math.Max(1, Math.Min((Array.MaxLength / width) - 1, (left / ((width * (long)sizeof(float)) + (2 * sizeof(long)))) - 1));
            throw new ArgumentOutOfRangeException(
                nameof(LmuClassifierOptions.ShufflePoolSize), _options.ShufflePoolSize,
                FormattableString.Invariant($"{nameof(LmuClassifierOptions)}.{nameof(LmuClassifierOptions.ShufflePoolSize)}: a pool of {pool} rows of {width} values takes {bytes:N0} bytes, ") +
                (values > Array.MaxLength
                    ? FormattableString.Invariant($"more than one array holds ({Array.MaxLength:N0} values)")
                    : FormattableString.Invariant($"more than this process may still take ({left:N0} bytes: {source})")) +
                FormattableString.Invariant($"; lower ShufflePoolSize to at most {most}."));
        }

        return pool;
    }

    private void CheckValidation(DataViewBatchSource source, string origin)
    {
        // One pass before training so that a bad validation row fails now, not after the first epoch.
        long rows = 0;
        foreach (var batch in source.Batches(0))
        {
            rows += batch.Count;
            batch.Dispose();
        }

        if (rows == 0)
        {
            throw new InvalidOperationException($"The validation data has no rows with a label in column '{_options.LabelColumnName}'.{origin}");
        }
    }

    private bool IsCanceled => _options.CancellationToken.IsCancellationRequested || _context.IsCanceled;

    private void ThrowIfCanceled() => _context.ThrowIfCanceled(_options.CancellationToken, "LmuClassifier");

    // The carried chain holds an ONNX Runtime session: released here when the Fit is cancelled at its end.
    private void Canceled(IDisposable chain)
    {
        try
        {
            ThrowIfCanceled();
        }
        catch
        {
            chain.Dispose();
            throw;
        }
    }

    private static IDataView ScoringSchemaView(MLContext ml, string name, int width, string? lengthName, DataViewType? lengthType)
    {
        // The scoring chain is fitted on this schema only (no rows are read), so a VarVector training column still
        // yields a model that takes the fixed-size vectors ONNX Runtime needs.
        if (lengthType is null)
        {
            return Empty<FeatureRow>(ml, name, width, null);
        }

        return lengthType == NumberDataViewType.Single ? Empty<LengthRow<float>>(ml, name, width, lengthName)
            : lengthType == NumberDataViewType.Int32 ? Empty<LengthRow<int>>(ml, name, width, lengthName)
            : lengthType == NumberDataViewType.UInt32 ? Empty<LengthRow<uint>>(ml, name, width, lengthName)
            : Empty<LengthRow<long>>(ml, name, width, lengthName);
    }

    private static IDataView Empty<TRow>(MLContext ml, string name, int width, string? lengthName)
        where TRow : class
    {
        var definition = SchemaDefinition.Create(typeof(TRow));
        // The indexer finds a column by its current name: take every column before renaming any (a lookup by the old
        // name failed once the features column had another name, or found the features column renamed "Length").
        var features = definition[nameof(FeatureRow.Features)];
        var length = lengthName is null ? null : definition[nameof(LengthRow<int>.Length)];
        features.ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        features.ColumnName = name;
        if (length is not null)
        {
            length.ColumnName = lengthName!;
        }

        return ml.Data.LoadFromEnumerable(Array.Empty<TRow>(), definition);
    }

    /// <summary>Schema carrier for <see cref="ScoringSchemaView"/>.</summary>
    private sealed class FeatureRow
    {
        public float[] Features { get; set; } = [];
    }

    /// <summary>Schema carrier for <see cref="ScoringSchemaView"/> with a length column.</summary>
    private sealed class LengthRow<T>
    {
        public float[] Features { get; set; } = [];

        public T Length { get; set; } = default!;
    }

    /// <summary>Gradient steps below which a Fit logs a warning (see <see cref="WarnOfAShortRun"/>).</summary>
    internal const long FewGradientSteps = 500;

    /// <summary>
    /// Logs a warning when the whole run takes fewer than <see cref="FewGradientSteps"/> optimiser steps. Why: the
    /// defaults (10 epochs of 64 rows) suit tens of thousands of rows; on a few hundred they are 50 steps, and a QA run
    /// of the defaults on 300 rows of three easy classes scored at chance. Small data wants many more epochs (the
    /// `lmu classify` command trains 300 epochs of 16 rows) or the experiment, which also tries the pooled model.
    /// </summary>
    private void WarnOfLargeInputs(float largest, LmuClassifierOptions o)
    {
        if (largest <= LargeInput) return;
        _context.Warning(
            "Data",
            $"Features column '{o.FeatureColumnName}' holds values up to {largest:G3} in magnitude. The network trains in float32 with weights of order 1, " +
            "and far from unit scale it saturates or learns little (QA: from about 1e15 a memory-only network's loss did not move, and at 1e38 it overflowed). " +
            "Standardise the features first, e.g. NormalizeMeanVariance in front of the classifier (README, \"Standardising each step\").");
    }

    /// <summary>Inputs above this magnitude are warned of (<see cref="WarnOfLargeInputs"/>).</summary>
    internal const float LargeInput = 1e6f;

    private void WarnOfAShortRun(long rows, LmuClassifierOptions o)
    {
        double trained = o.ValidationData is null ? rows * (1 - o.ValidationFraction) : rows;
        long batches = (long)Math.Ceiling(trained / o.Training.BatchSize);
        long steps = batches * o.Training.Epochs;
        if (steps >= FewGradientSteps) return;
        _context.Warning(
            "Training",
            $"This Fit takes only {steps} gradient steps ({o.Training.Epochs} epochs of {batches} batches of up to {o.Training.BatchSize} rows): too few for most " +
            $"networks to learn. On small data raise Training.Epochs (the lmu classify command trains 300 epochs with BatchSize 16 and LearningRate 3e-3), " +
            "or let LmuClassificationExperiment choose, which also tries the pooled memory + ridge model.");
    }
}
