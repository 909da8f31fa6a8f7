using System.Diagnostics;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Network;
using Lmu.MLNet.Onnx;
using Lmu.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Forecasting;

/// <summary>
/// Trains an LMU forecaster (TorchSharp) and returns it as a <see cref="LmuForecastTransformer"/> scored by ML.NET's
/// OnnxTransformer. Create it with <c>mlContext.Forecasting.ForecastByLmu(...)</c> or this type's constructor.
/// </summary>
/// <remarks>
/// Every column and value is checked before training starts. The MLContext's seed, Log, GpuDeviceId/FallbackToCpu and
/// cancellation govern training (see <see cref="LmuForecastingOptions"/>). A cancelled or failed Fit returns nothing
/// and leaves no file behind.
/// </remarks>
public sealed class LmuForecastEstimator : IEstimator<LmuForecastTransformer>
{
    private const string HostName = "LmuForecaster";
    private readonly MLContextBridge _context;
    private readonly LmuForecastingOptions _options;

    /// <summary>An estimator governed by <paramref name="mlContext"/> (seed, Log, GPU settings, cancellation).</summary>
    public LmuForecastEstimator(MLContext mlContext, LmuForecastingOptions options)
        : this(MLContextBridge.FromContext(mlContext, HostName), options)
    {
    }

    internal LmuForecastEstimator(MLContextBridge context, LmuForecastingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _context = context;
        // A copy: the caller may reuse or change the options object after making the estimator.
        _options = options.Clone();
    }

    /// <summary>A copy of the options this estimator trains with.</summary>
    public LmuForecastingOptions Options => _options.Clone();

    /// <summary>Trains; throws before training on bad options or data, and <see cref="OperationCanceledException"/> when cancelled.</summary>
    public LmuForecastTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var clock = Stopwatch.StartNew();
        var o = _options;
        RefuseSkippedNames();
        int t = o.WindowSize, h = o.Horizon;
        // Before the device is resolved: a process's first Fit loads libtorch there, and a token cancelled before Fit took
        // 1.9 s to be honoured (concurrency QA).
        ThrowIfCanceled();
        var run = EstimatorTraining.Start(
            _context, o.Training, $"{nameof(LmuForecastingOptions)}.{nameof(o.Training)}.{nameof(o.Training.Device)}");
        ThrowIfCanceled();
        var data = ForecastTrainingData.Scan(input, o, () => IsCanceled);
        if (!data.Streamed)
        {
            _context.Warning(
                "Data", $"The rows of series '{data.InterleavedId}' (column '{o.SeriesIdColumnName}') are not consecutive, so every series is read into " +
                "memory; sort the rows by series (time order within each) to stream data larger than memory.");
        }

        ThrowIfCanceled();
        var channels = 1 + o.CovariateColumnNames.Count;
        var networkOptions = o.NetworkOptions(channels);
        networkOptions.Validate();
        EstimatorTraining.WarnOfALongTheta(_context, networkOptions, t, $"{nameof(LmuForecastingOptions)}.{nameof(LmuForecastingOptions.Layer)}");
        EstimatorTraining.WarnOfTooManyThreads(_context, o.TorchThreads, $"{nameof(LmuForecastingOptions)}.{nameof(LmuForecastingOptions.TorchThreads)}");

        var (loc, scale) = (data.Location, data.Scale);
        // New models floor each window's scale in their data's units (LmuForecastModel.RelativeScaleFloor), marked only
        // where that changes the floor: a model of data whose deviation is 1 or more writes the bytes, fingerprint and
        // checkpoint format it always did, so a deterministic refit still resumes the checkpoints of earlier versions and
        // they can read its own (found by review).
        var relativeFloor = o.Scaling == LmuForecastScaling.PerWindow && LmuForecastModel.FloorUnit(relative: true, scale[0]) < 1;
        var scaler = new WindowScaler(t, h, channels, o.Scaling, loc, scale, LmuForecastModel.FloorUnit(relativeFloor, scale[0]));
        // A batch larger than the windows holds all of them; its buffer is sized by them (see the classifier).
        var batch = (int)Math.Min(o.Training.BatchSize, Math.Max(1, Math.Max(data.TrainWindows, data.ValidationWindows)));
        var train = new ForecastWindowSource(data, scaler, false, batch, run.Seed, o.ShufflePoolPoints, ThrowIfCanceled);
        var valid = data.ValidationWindows > 0 ? new ForecastWindowSource(data, scaler, true, batch, null, o.ShufflePoolPoints, ThrowIfCanceled) : null;
        _context.Info(
            "Data", $"{data.SeriesCount} series, {data.TrainWindows} training and {data.ValidationWindows} validation windows of {t} steps x {channels} channels, " +
            $"horizon {h}; seed {run.Seed}, device {run.Device}.");
        if (o.ValidationFraction > 0 && data.ValidationWindows == 0)
        {
            // Said only at Info level before: the bounds then came from training residuals, which fit more closely than new data (found by QA).
            _context.Warning(
                "Data", $"ValidationFraction {o.ValidationFraction} leaves no validation window (the series are too short to hold one back), so there is no validation loss" +
                (o.LowerBoundColumnName is null ? "." : " and the bounds come from the training residuals, which are narrower than the errors on new data.") +
                " Use longer series or a larger ValidationFraction.");
        }

        long steps = (long)Math.Ceiling(data.TrainWindows / (double)o.Training.BatchSize) * o.Training.Epochs;
        if (steps < LmuClassifierEstimator.FewGradientSteps)
        {
            _context.Warning(
                "Training", $"This Fit takes only about {steps} gradient steps ({o.Training.Epochs} epochs of {data.TrainWindows} windows in batches of {o.Training.BatchSize}): " +
                "too few for most networks to learn. Raise Training.Epochs (the lmu forecast command aims at about 3,000 steps), or a smaller WindowStride gives more windows.");
        }

        // The trainer sees the token; the MLContext's flag is checked by the sources before every batch.
        var (spec, result, parameters, thetas, lower, upper) = run.Run(
            networkOptions, train, valid, o.Loss, o.TorchThreads, o.Progress, o.CancellationToken, (network, result) =>
            {
                var (lower, upper) = o.LowerBoundColumnName is not null
                    ? ForecastResidualQuantiles.Compute(network, valid ?? train, o.ConfidenceLevel, run.Seed)
                    : (null, null);
                return (network.ToSpec(t), result, network.ParameterCount, network.LayerThetas(), lower, upper);
            });
        // A cancel after the last epoch (or during the bounds' residuals): the export and the carrier's session still take
        // 0.1-1.5 s, and the model was returned (concurrency QA).
        ThrowIfCanceled();
        var model = new LmuForecastModel
        {
            Network = spec,
            WindowSize = t,
            Horizon = h,
            WindowColumn = o.WindowColumnName,
            CovariateColumns = o.CovariateColumnNames.ToArray(),
            ForecastColumn = o.OutputColumnName,
            LowerBoundColumn = o.LowerBoundColumnName,
            UpperBoundColumn = o.UpperBoundColumnName,
            Scaling = o.Scaling,
            RelativeScaleFloor = relativeFloor,
            Location = loc,
            Scale = scale,
            ConfidenceLevel = o.ConfidenceLevel,
            LowerOffsets = lower,
            UpperOffsets = upper,
        };
        var chain = CreateChain(new MLContext(run.Seed) { TempFilePath = _context.TempFilePath }, model, o.SeriesColumnName);
        try
        {
            ThrowIfCanceled();
        }
        catch
        {
            chain.Dispose();
            throw;
        }

        _context.Info("Training", string.Create(System.Globalization.CultureInfo.InvariantCulture, $"done: {parameters} parameters, best epoch {result.BestEpoch}, {clock.Elapsed.TotalSeconds:F1} s."));
        var info = LmuForecastModelInfo.Of(model, o.SeriesColumnName, o.SeriesIdColumnName, parameters, run.Seed, run.Device, data.TrainWindows, result, clock.Elapsed, thetas);
        return new LmuForecastTransformer(chain, model, info);
    }

    /// <summary>
    /// The input columns plus the forecast (and bound) columns, Vector&lt;Single, Horizon&gt;; on the series layout also the
    /// window column and each covariate as its window, Vector&lt;Single, WindowSize&gt;, as the fitted model's Transform of
    /// series rows writes them.
    /// </summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var o = _options;
        RefuseSkippedNames();
        // Types as Fit checks them (ForecastDataReader.Column): a Double series passed here and failed only at Fit (found by QA).
        var series = o.SeriesColumnName is not null;
        var kind = series ? SchemaShape.Column.VectorKind.Scalar : SchemaShape.Column.VectorKind.Vector;
        if (series)
        {
            Require(inputSchema, o.SeriesColumnName!, "series", kind);
        }
        else
        {
            Require(inputSchema, o.WindowColumnName, "window", kind);
            Require(inputSchema, o.LabelColumnName, "label", kind);
        }

        foreach (var c in o.CovariateColumnNames)
        {
            Require(inputSchema, c, series ? "covariate" : "covariate window", kind);
        }

        var outputs = new List<string> { o.OutputColumnName };
        if (o.LowerBoundColumnName is not null)
        {
            outputs.Add(o.LowerBoundColumnName);
            outputs.Add(o.UpperBoundColumnName!);
        }

        // Series rows are scored as windows (the window column added, each covariate read as its window): see SeriesWindowsView.
        var added = o.SeriesColumnName is null ? outputs : [o.WindowColumnName, .. o.CovariateColumnNames, .. outputs];
        return SchemaShapes.With(
            inputSchema,
            added.Select(n => SchemaShapes.Column(n, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false)).ToArray());
    }

    /// <summary>
    /// The ONNX-carrying chain for <paramref name="model"/>, which also carries a start-of-stream engine (so a zip saved
    /// from it starts a stream: <see cref="ForecastEngineStateOnnx.CreateChain"/>) reading <paramref name="seriesColumn"/>.
    /// </summary>
    internal static TransformerChain<ITransformer> CreateChain(MLContext ml, LmuForecastModel model, string? seriesColumn = null) =>
        ForecastEngineStateOnnx.CreateChain(ml, new LmuForecastEngine(model), seriesColumn);

    private bool IsCanceled => _options.CancellationToken.IsCancellationRequested || _context.IsCanceled;

    private void ThrowIfCanceled() => _context.ThrowIfCanceled(_options.CancellationToken, "ForecastByLmu");

    private static void Require(SchemaShape schema, string name, string role, SchemaShape.Column.VectorKind kind)
    {
        var column = schema.FirstOrDefault(c => c.Name == name);
        if (column.Name is null)
        {
            throw new ArgumentException($"The {role} column '{name}' is not in the input schema.");
        }

        if (column.Kind != kind || !column.ItemType.Equals(NumberDataViewType.Single))
        {
            var expected = kind == SchemaShape.Column.VectorKind.Scalar ? "Single" : "a fixed-size Vector<Single>";
            throw new ArgumentException($"The {role} column '{name}' is {column.Kind} of {column.ItemType}; expected {expected}.");
        }
    }

    /// <summary>Refuses graph input and output columns whose names ML.NET's OnnxTransformer skips (<see cref="OnnxCarrier.RefuseSkippedNames"/>).</summary>
    private void RefuseSkippedNames()
    {
        var o = _options;
        OnnxCarrier.RefuseSkippedNames(
            "ForecastByLmu",
            [("window", o.WindowColumnName), ("forecast", o.OutputColumnName), ("lower bound", o.LowerBoundColumnName), ("upper bound", o.UpperBoundColumnName),
             .. o.CovariateColumnNames.Select(c => ("covariate", (string?)c))]);
    }
}
