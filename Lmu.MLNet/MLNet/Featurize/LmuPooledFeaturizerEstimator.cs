using System.Globalization;
using Lmu.MLNet.Data;
using Lmu.MLNet.Classification;
using Lmu.MLNet.Modules;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Featurize;

/// <summary>
/// Random projections of many fixed Legendre memories, pooled over time (see <see cref="LmuPooledFeaturizerOptions"/>):
/// shift-invariant features for time-series classification that any ML.NET trainer consumes (a linear one such as
/// <see cref="RidgeClassifierTrainer"/> suits their number). Fit reads the training rows to check them and to place
/// the biases; the fitted model is an ONNX graph carried by ML.NET's OnnxTransformer, so it saves in the .zip and
/// scores without libtorch.
/// </summary>
public sealed class LmuPooledFeaturizerEstimator : IEstimator<LmuPooledFeaturizerTransformer>
{
    private readonly LmuPooledFeaturizerOptions _options;
    private readonly MLContextBridge? _context;
    private readonly string? _tempFolder;

    /// <summary>Creates the estimator without a context: a null <see cref="LmuPooledFeaturizerOptions.Seed"/> means 0.</summary>
    /// <exception cref="ArgumentException">An option is out of range (the message names it).</exception>
    public LmuPooledFeaturizerEstimator(LmuPooledFeaturizerOptions options)
        : this((MLContextBridge?)null, options)
    {
    }

    /// <summary>Creates the estimator in <paramref name="mlContext"/>, whose seed stream gives a null Seed its value.</summary>
    /// <exception cref="ArgumentException">An option is out of range (the message names it).</exception>
    public LmuPooledFeaturizerEstimator(MLContext mlContext, LmuPooledFeaturizerOptions options)
        : this(MLContextBridge.FromContext(mlContext, nameof(LmuPooledFeaturizerEstimator)), options)
    {
    }

    /// <summary>Without a context (its seed is in the options), temp files in <paramref name="tempFolder"/> (the experiment's).</summary>
    internal LmuPooledFeaturizerEstimator(LmuPooledFeaturizerOptions options, string? tempFolder)
        : this((MLContextBridge?)null, options)
    {
        _tempFolder = tempFolder;
    }

    internal LmuPooledFeaturizerEstimator(MLContextBridge? context, LmuPooledFeaturizerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options.Clone();
        _context = context;
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">A column is missing or of the wrong type or size.</exception>
    /// <exception cref="InvalidDataException">A row holds NaN or infinity, or a length outside [1, SequenceLength]; the message names the column and row.</exception>
    /// <exception cref="InvalidOperationException">The data has no row.</exception>
    public LmuPooledFeaturizerTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = _options;
        var steps = LmuFeaturizerSchema.Check(SchemaOptions(), input.Schema, component: "LmuPooledFeaturize");
        NormalizationGuard.Require(o.Normalization, steps, o.Channels, "LmuPooledFeaturize");
        var minTheta = o.MinTheta ?? Math.Min(8, steps);
        var maxTheta = o.MaxTheta ?? LmuLayerOptions.ThetaForSteps(steps);
        if (o.Discretizer == Maths.LmuDiscretizer.Euler)
        {
            // Every kernel's theta lies in [MinTheta, MaxTheta] and the bound is the order's, so the smallest decides.
            Maths.EulerStability.Require(o.Order, minTheta, $"{nameof(LmuPooledFeaturizerOptions)}.{nameof(LmuPooledFeaturizerOptions.MinTheta)}",
                o.MinTheta is null ? $" (null: min(8, the sequence length {steps}))" : null);
        }

        if (minTheta > maxTheta)
        {
            throw new ArgumentException(
                $"LmuPooledFeaturizerOptions.MinTheta resolves to {minTheta} but MaxTheta to {maxTheta} (the sequence length is {steps}); MinTheta must not exceed MaxTheta.",
                nameof(input));
        }

        // Drawn at Fit, as ML.NET's trainers draw from the context's stream, so two fits in one context differ unless seeded.
        var seed = o.Seed ?? _context?.NextSeed() ?? 0;

        // Pass 1 checks every row (before anything is sampled) and counts them; pass 2 reads the rows chosen for the biases.
        var rows = ReadRows(input, steps, null);
        if (rows == 0)
        {
            throw new InvalidOperationException($"LmuPooledFeaturize: the data has no rows; Fit needs training rows to place the biases.");
        }

        var indices = LmuPooledKernelSet.BiasRowIndices(seed, o.Windows, rows);
        var chosen = new Dictionary<long, (float[], int)>();
        var again = ReadRows(input, steps, (index, row, length) =>
        {
            if (Array.IndexOf(indices, (int)index) >= 0)
            {
                chosen[index] = ((float[])row.Clone(), length);
            }
        });
        if (again != rows)
        {
            // A view whose second cursor gave fewer rows failed with "The given key '23' was not present" (found by QA);
            // one that gave fewer rows beyond those chosen, or more, passed (review).
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"LmuPooledFeaturize: the data gave {rows:N0} rows when Fit checked them and {again:N0} when it read them again to place the biases; ") +
                "Fit reads the data twice, so it must give the same rows each time (cache a view that can be read only once: mlContext.Data.Cache, or AppendCacheCheckpoint in a pipeline).");
        }

        var kernels = LmuPooledKernelSet.Sample(
            steps, o.Channels, o.Order, o.Windows, o.ProjectionsPerWindow, minTheta, maxTheta, o.Discretizer, o.Normalization, seed,
            g => chosen[indices[g]]);

        var inPlace = o.OutputColumnName == o.InputColumnName;
        var outputName = inPlace ? o.OutputColumnName + ".lmu" : o.OutputColumnName;
        var lengthType = o.LengthColumnName is null ? Onnx.OnnxElementType.Float : Classification.ClassifierInputLayout.LengthElementType(input.Schema[o.LengthColumnName].Type);
        var spec = LmuPooledFeaturizerGraph.Spec.For(o, outputName, kernels, lengthType);
        var ml = OnnxCarrier.Context(_context?.TempFilePath ?? _tempFolder);
        var inputs = o.LengthColumnName is null ? new[] { o.InputColumnName } : [o.InputColumnName, o.LengthColumnName];
        // ONNX value names must be unique, so an in-place output goes through a temporary name and is copied back.
        IEstimator<ITransformer>? post = inPlace
            ? ml.Transforms.CopyColumns(o.OutputColumnName, outputName).Append(ml.Transforms.DropColumns(outputName))
            : null;
        var chain = OnnxCarrier.Create(ml, LmuPooledFeaturizerGraph.Build(spec), input, inputs, [outputName], post);
        return new LmuPooledFeaturizerTransformer(chain, o.Clone(), kernels, SchemaOptions(), seed, lengthType);
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        LmuFeaturizerSchema.Check(SchemaOptions(), inputSchema, component: "LmuPooledFeaturize");
        return LmuFeaturizerSchema.OutputShape(inputSchema, _options.OutputColumnName, LmuPooledKernelSet.OutputSizeOf(_options.Windows, _options.ProjectionsPerWindow));
    }

    /// <summary>The input-side options in the plain featurizer's shape, whose schema checks (and messages) are shared.</summary>
    private LmuFeaturizerOptions SchemaOptions() => new()
    {
        InputColumnName = _options.InputColumnName,
        OutputColumnName = _options.OutputColumnName,
        LengthColumnName = _options.LengthColumnName,
        SequenceLength = _options.SequenceLength,
        Channels = _options.Channels,
    };

    /// <summary>Reads every row, checks its values and length, hands it to <paramref name="visit"/>, and returns the count.</summary>
    private long ReadRows(IDataView data, int steps, Action<long, float[], int>? visit)
    {
        var o = _options;
        var features = data.Schema[o.InputColumnName];
        var lengthColumn = o.LengthColumnName is null ? (DataViewSchema.Column?)null : data.Schema[o.LengthColumnName];
        using var cursor = data.GetRowCursor(lengthColumn is null ? [features] : [features, lengthColumn.Value]);
        var getFeatures = cursor.GetGetter<VBuffer<float>>(features);
        // Any of the length types; a fractional or non-finite Single is refused there, a length outside [1, T] by the rule
        // that also holds scored rows to it.
        var getLength = lengthColumn is null ? null : SequenceRowReader.LengthGetter(cursor, lengthColumn.Value, "training", steps, "LmuPooledFeaturize");
        var rule = o.LengthColumnName is null ? null : new Scoring.SequenceLengthRule(o.LengthColumnName, steps, "LmuPooledFeaturize");
        var buffer = default(VBuffer<float>);
        var row = new float[steps * o.Channels];
        // Channel-major rows are read into step-major order first, so the checks name the right step and channel and
        // the bias rows are what the graph computes on after its own transpose.
        var channelMajor = o.InputLayout == LmuInputLayout.ChannelMajor && o.Channels > 1;
        var raw = channelMajor ? new float[row.Length] : row;
        long count = 0;
        while (cursor.MoveNext())
        {
            // MLContext.CancelExecution was not observed (found in review): read every 1,024 rows, from the first.
            if ((count & 1023) == 0 && _context?.IsCanceled == true)
            {
                throw new OperationCanceledException("LmuPooledFeaturize: Fit was cancelled through its MLContext (MLContext.CancelExecution).");
            }

            var length = steps;
            if (getLength is not null)
            {
                var value = getLength();
                rule!.Check(value, count);
                length = (int)value;
            }

            getFeatures(ref buffer);
            if (buffer.Length != raw.Length)
            {
                throw new InvalidDataException(Scoring.VectorSizeRule.SizeMessage(features, buffer.Length, $"LmuPooledFeaturize: input column '{o.InputColumnName}', row {count}"));
            }

            buffer.CopyTo(raw);
            if (channelMajor)
            {
                ChannelLayout.Transpose(raw, row, o.Channels, steps);
            }

            for (var i = 0; i < length * o.Channels; i++)
            {
                if (!float.IsFinite(row[i]))
                {
                    throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                        $"LmuPooledFeaturize: input column '{o.InputColumnName}', row {count}, step {i / o.Channels}, channel {i % o.Channels}: expected a finite value but found {row[i]}."));
                }
            }

            visit?.Invoke(count, row, length);
            count++;
        }

        return count;
    }
}
