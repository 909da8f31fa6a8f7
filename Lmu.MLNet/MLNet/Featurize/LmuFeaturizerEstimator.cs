using Lmu.MLNet.Modules;
using Microsoft.ML;

namespace Lmu.MLNet.Featurize;

/// <summary>
/// A fixed (untrained) Legendre memory over a sequence column, giving a <c>Vector&lt;Single&gt;</c> any ML.NET trainer
/// consumes (see <see cref="LmuFeaturizerOptions"/> for the layouts). Fit reads no rows: it only checks the schema and
/// writes the memory's fixed linear map as an ONNX graph. Deterministic; saved in the model .zip; no libtorch needed.
/// </summary>
public sealed class LmuFeaturizerEstimator : IEstimator<LmuFeaturizerTransformer>
{
    private readonly LmuFeaturizerOptions _options;
    private readonly string? _tempFolder;
    private readonly Func<bool>? _contextCanceled;

    /// <summary>Creates the estimator; the options are validated and copied. Its temp files go to the system temp folder.</summary>
    /// <exception cref="ArgumentException">An option is out of range (the message names it).</exception>
    public LmuFeaturizerEstimator(LmuFeaturizerOptions options)
        : this(options, null)
    {
    }

    /// <summary>
    /// The catalog's estimator: temp files where the context's TempFilePath says; a Fit on a context cancelled by
    /// MLContext.CancelExecution (<paramref name="contextCanceled"/>) throws, as ML.NET's own estimators do (it fitted;
    /// found in review).
    /// </summary>
    internal LmuFeaturizerEstimator(LmuFeaturizerOptions options, string? tempFolder, Func<bool>? contextCanceled = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options.Clone();
        _tempFolder = tempFolder;
        _contextCanceled = contextCanceled;
    }

    /// <summary>The largest kernel the graph carries (ONNX's protobuf limit is 2 GiB; the graph holds other tensors too).</summary>
    internal const long MaxKernelBytes = 1L << 30;

    /// <summary>Width of the output for a given sequence length.</summary>
    public int OutputSize(int sequenceLength) => Spec(sequenceLength).OutputSize;

    /// <inheritdoc />
    public LmuFeaturizerTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (_contextCanceled?.Invoke() == true)
        {
            throw new OperationCanceledException("LmuFeaturize: Fit was cancelled through its MLContext (MLContext.CancelExecution).");
        }

        var length = LmuFeaturizerSchema.Check(_options, input.Schema);
        NormalizationGuard.Require(_options.Normalization, length, _options.Channels, "LmuFeaturize");
        var spec = Spec(length);
        // The graph holds a [rows, T] kernel of float32: past about 1 GiB it overflowed an Int32 index in .NET's words
        // (found by QA), and ONNX's protobuf takes at most 2 GiB.
        var kernelRows = (long)(spec.Blocks * spec.Order) + spec.DecodedDelays.Count;
        if (kernelRows * length * sizeof(float) > MaxKernelBytes)
        {
            throw new ArgumentException(
                $"LmuFeaturize: Order {spec.Order} x {spec.Blocks} read positions (the last step and {spec.Blocks - 1} WindowPositions) plus {spec.DecodedDelays.Count} DecodedDelays " +
                $"over a sequence length of {length} need a kernel of {kernelRows:N0} x {length:N0} float32 values ({kernelRows * length * sizeof(float) / (1 << 20):N0} MiB), " +
                $"more than the {MaxKernelBytes >> 20:N0} MiB an ONNX graph can carry here; use fewer WindowPositions, a lower Order or shorter rows.",
                nameof(input));
        }

        if (_options.Discretizer == Maths.LmuDiscretizer.Euler && _options.Theta is null)
        {
            Maths.EulerStability.Require(spec.Order, spec.Theta, $"{nameof(LmuFeaturizerOptions)}.{nameof(LmuFeaturizerOptions.Theta)}", $" (null: the sequence length of '{_options.InputColumnName}')");
        }

        if (_options.LengthColumnName is { } lengthColumn)
        {
            spec = spec with { LengthType = Classification.ClassifierInputLayout.LengthElementType(input.Schema[lengthColumn].Type) };
        }

        var ml = OnnxCarrier.Context(_tempFolder);
        var inputs = _options.LengthColumnName is null ? new[] { spec.InputName } : [spec.InputName, spec.LengthName!];
        // ONNX value names must be unique, so an in-place output goes through a temporary name and is copied back.
        var inPlace = _options.OutputColumnName == _options.InputColumnName;
        IEstimator<ITransformer>? post = inPlace
            ? ml.Transforms.CopyColumns(_options.OutputColumnName, spec.OutputName).Append(ml.Transforms.DropColumns(spec.OutputName))
            : null;
        var chain = OnnxCarrier.Create(ml, LmuFeaturizerGraph.Build(spec), input, inputs, [spec.OutputName], post);
        return new LmuFeaturizerTransformer(chain, _options.Clone(), spec);
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        LmuFeaturizerSchema.Check(_options, inputSchema);
        var o = _options;
        return LmuFeaturizerSchema.OutputShape(inputSchema, o.OutputColumnName, LmuFeaturizerGraph.Spec.OutputSizeOf(o.WindowPositions.Count, o.Order, o.DecodedDelays.Count, o.Channels));
    }

    private LmuFeaturizerGraph.Spec Spec(int length)
    {
        var o = _options;
        var inPlace = o.OutputColumnName == o.InputColumnName;
        return new LmuFeaturizerGraph.Spec(
            o.InputColumnName,
            o.LengthColumnName,
            inPlace ? o.OutputColumnName + ".lmu" : o.OutputColumnName,
            length,
            o.Channels,
            o.Order,
            o.Theta ?? LmuLayerOptions.ThetaForSteps(length),
            o.Discretizer,
            o.Normalization,
            o.WindowPositions,
            o.DecodedDelays,
            o.InputLayout == Classification.LmuInputLayout.ChannelMajor);
    }
}
