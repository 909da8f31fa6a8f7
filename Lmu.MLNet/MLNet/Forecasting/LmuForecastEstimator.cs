using System.Diagnostics;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Network;
using Lmu.MLNet.Onnx;
using Lmu.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;

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
        int t = o.WindowSize, h = o.Horizon;
        var device = _context.ResolveDevice(o.Training.Device, $"{nameof(LmuForecastingOptions)}.{nameof(o.Training)}.{nameof(o.Training.Device)}");
        var seed = o.Training.Seed ?? _context.Host.Rand.Next();
        ThrowIfCanceled();
        var series = o.SeriesColumnName is not null
            ? ForecastDataReader.ReadSeries(input, o.SeriesColumnName, o.SeriesIdColumnName, o.CovariateColumnNames, t, h)
            : ForecastDataReader.ReadWindows(input, o.WindowColumnName, o.LabelColumnName, o.CovariateColumnNames, t, h);
        ThrowIfCanceled();
        var channels = 1 + o.CovariateColumnNames.Count;
        var networkOptions = o.NetworkOptions(channels);
        networkOptions.Validate();

        var (loc, scale) = Statistics(series);
        var (trainRefs, validRefs) = ForecastWindowSet.Split(series, t, h, o.WindowStride, o.ValidationFraction);
        var train = new ForecastWindowSet(series, trainRefs, t, h, o.Scaling, loc, scale);
        var valid = validRefs.Count > 0 ? new ForecastWindowSet(series, validRefs, t, h, o.Scaling, loc, scale) : null;
        _context.Info(
            "Data", $"{series.Count} series, {train.Count} training and {valid?.Count ?? 0} validation windows of {t} steps x {channels} channels, " +
            $"horizon {h}; seed {seed}, device {device}.");

        var (spec, result, parameters, lower, upper) = Train(networkOptions, train, valid, seed, device);
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
            Location = loc,
            Scale = scale,
            ConfidenceLevel = o.ConfidenceLevel,
            LowerOffsets = lower,
            UpperOffsets = upper,
        };
        var chain = CreateChain(new MLContext(seed) { TempFilePath = _context.TempFilePath }, model);
        _context.Info("Training", $"done: {parameters} parameters, best epoch {result.BestEpoch}, {clock.Elapsed.TotalSeconds:F1} s.");
        var info = LmuForecastModelInfo.Of(model, o.SeriesColumnName, parameters, seed, device, train.Count, result, clock.Elapsed);
        return new LmuForecastTransformer(chain, model, info);
    }

    /// <summary>The input columns plus the forecast (and bound) columns, Vector&lt;Single, Horizon&gt;.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var o = _options;
        if (o.SeriesColumnName is not null)
        {
            Require(inputSchema, o.SeriesColumnName, "series");
        }
        else
        {
            Require(inputSchema, o.WindowColumnName, "window");
            Require(inputSchema, o.LabelColumnName, "label");
        }

        foreach (var c in o.CovariateColumnNames)
        {
            Require(inputSchema, c, "covariate");
        }

        var outputs = new List<string> { o.OutputColumnName };
        if (o.LowerBoundColumnName is not null)
        {
            outputs.Add(o.LowerBoundColumnName);
            outputs.Add(o.UpperBoundColumnName!);
        }

        return SchemaShapes.With(
            inputSchema,
            outputs.Select(n => SchemaShapes.Column(n, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false)).ToArray());
    }

    /// <summary>The ONNX-carrying chain for <paramref name="model"/>.</summary>
    internal static TransformerChain<ITransformer> CreateChain(MLContext ml, LmuForecastModel model)
    {
        var inputs = new List<string> { model.WindowColumn };
        inputs.AddRange(model.CovariateColumns);
        var outputs = new List<string> { model.ForecastColumn };
        if (model.HasBounds)
        {
            outputs.Add(model.LowerBoundColumn!);
            outputs.Add(model.UpperBoundColumn!);
        }

        // Fitting the ONNX scorer reads only the schema, so a row-less view of the scoring layout is enough.
        var schemaOnly = new FloatColumnsDataView(inputs.Select(n => (n, model.WindowSize, Array.Empty<float[]>())).ToList());
        return OnnxCarrier.Create(ml, model.ToOnnx(), schemaOnly, inputs, outputs);
    }

    private (LmuNetworkSpec Spec, LmuTrainingResult Result, long Parameters, double[]? Lower, double[]? Upper) Train(
        LmuNetworkOptions networkOptions, ForecastWindowSet train, ForecastWindowSet? valid, int seed, string device)
    {
        var o = _options;
        var previousThreads = o.TorchThreads > 0 ? torch.get_num_threads() : 0;
        if (o.TorchThreads > 0)
        {
            torch.set_num_threads(o.TorchThreads);
        }

        try
        {
            // Weights are drawn from torch's global generator: seeded before the network exists, so that they are reproducible too.
            torch.manual_seed(seed);
            using var network = new LmuNetwork(networkOptions);
            var training = o.Training.Clone();
            training.Seed = seed;
            training.Device = device;
            var batch = training.BatchSize;
            // The trainer sees the token; the MLContext's flag is checked by the sources before every batch.
            var result = LmuTrainer.Train(
                network, train.Batches(batch, true, seed, ThrowIfCanceled), valid?.Batches(batch, false, seed, ThrowIfCanceled),
                o.Loss, training, _context.EpochLog(o.Progress), o.CancellationToken);
            network.to(torch.CPU);
            network.eval();
            var (lower, upper) = o.LowerBoundColumnName is not null ? ResidualQuantiles(network, valid ?? train, o.ConfidenceLevel) : (null, null);
            return (network.ToSpec(o.WindowSize), result, network.ParameterCount, lower, upper);
        }
        finally
        {
            if (previousThreads > 0)
            {
                torch.set_num_threads(previousThreads);
            }
        }
    }

    private void ThrowIfCanceled() => _context.ThrowIfCanceled(_options.CancellationToken);

    private static void Require(SchemaShape schema, string name, string role)
    {
        if (!schema.Any(c => c.Name == name))
        {
            throw new ArgumentException($"The {role} column '{name}' is not in the input schema.");
        }
    }

    // Target: nothing here (global target statistics are only used with Global scaling); covariates always.
    private static (double[] Location, double[] Scale) Statistics(IReadOnlyList<ForecastSeries> series)
    {
        var channels = 1 + series[0].Covariates.Length;
        var loc = new double[channels];
        var scale = new double[channels];
        for (var c = 0; c < channels; c++)
        {
            double sum = 0, sq = 0;
            long n = 0;
            foreach (var s in series)
            {
                var values = c == 0 ? s.Target : s.Covariates[c - 1];
                foreach (var v in values)
                {
                    sum += v;
                    sq += v * v;
                }

                n += values.Length;
            }

            var mean = sum / n;
            var std = Math.Sqrt(Math.Max(0, sq / n - mean * mean));
            loc[c] = mean;
            // A constant channel carries no information; scale 1 keeps it finite.
            scale[c] = std > 1e-12 * Math.Max(1, Math.Abs(mean)) ? std : 1;
        }

        return (loc, scale);
    }

    // Per horizon step, the empirical quantiles of scaled residuals y - f (linear interpolation between order statistics).
    private (double[] Lower, double[] Upper) ResidualQuantiles(LmuNetwork network, ForecastWindowSet set, double level)
    {
        var h = set.Horizon;
        var residuals = Enumerable.Range(0, h).Select(_ => new List<double>(set.Count)).ToArray();
        using (torch.no_grad())
        {
            foreach (var batch in set.Batches(256, false, 0, ThrowIfCanceled).Batches(0))
            {
                using var b = batch;
                using var scope = torch.NewDisposeScope();
                var predicted = network.forward(b.Features).data<float>().ToArray();
                var actual = b.Target.data<float>().ToArray();
                for (var i = 0; i < actual.Length; i++)
                {
                    residuals[i % h].Add(actual[i] - predicted[i]);
                }
            }
        }

        var lower = new double[h];
        var upper = new double[h];
        for (var k = 0; k < h; k++)
        {
            var sorted = residuals[k].Order().ToArray();
            lower[k] = Quantile(sorted, (1 - level) / 2);
            upper[k] = Quantile(sorted, (1 + level) / 2);
        }

        return (lower, upper);
    }

    private static double Quantile(double[] sorted, double p)
    {
        var pos = p * (sorted.Length - 1);
        var lo = (int)Math.Floor(pos);
        var hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }
}
