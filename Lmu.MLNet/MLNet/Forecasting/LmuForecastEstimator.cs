using Lmu.MLNet.Modules;
using Lmu.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;

namespace Lmu.MLNet.MLNet.Forecasting;

/// <summary>
/// Trains an LMU forecaster (TorchSharp) and returns it as a <see cref="LmuForecastTransformer"/> scored by ML.NET's
/// OnnxTransformer. Every column and value is checked before training starts.
/// </summary>
public sealed class LmuForecastEstimator : IEstimator<LmuForecastTransformer>
{
    private readonly MLContext _ml;
    private readonly LmuForecastingOptions _options;

    internal LmuForecastEstimator(MLContext ml, LmuForecastingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _ml = ml;
        // A copy: the caller may reuse or change the options object after making the estimator.
        _options = options.Clone();
    }

    /// <inheritdoc />
    public LmuForecastTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = _options;
        int t = o.WindowSize, h = o.Horizon;
        var series = o.SeriesColumnName is not null
            ? ForecastDataReader.ReadSeries(input, o.SeriesColumnName, o.SeriesIdColumnName, o.CovariateColumnNames, t, h)
            : ForecastDataReader.ReadWindows(input, o.WindowColumnName, o.LabelColumnName, o.CovariateColumnNames, t, h);
        var channels = 1 + o.CovariateColumnNames.Count;
        var layer = o.ResolveLayer(channels);
        var networkOptions = new LmuNetworkOptions
        {
            Layer = layer, HeadHiddenSizes = o.HeadHiddenSizes, HeadActivation = o.HeadActivation, OutputSize = h,
        };
        networkOptions.Validate();

        var (loc, scale) = Statistics(series);
        var (trainRefs, validRefs) = ForecastWindowSet.Split(series, t, h, o.WindowStride, o.ValidationFraction);
        var train = new ForecastWindowSet(series, trainRefs, t, h, o.Scaling, loc, scale);
        var valid = validRefs.Count > 0 ? new ForecastWindowSet(series, validRefs, t, h, o.Scaling, loc, scale) : null;
        var seed = o.Training.Seed ?? 1;

        // Seeded before the network exists, so that its initial weights are reproducible too.
        torch.manual_seed(seed);
        using var network = new LmuNetwork(networkOptions);
        var result = LmuTrainer.Train(
            network, train.Batches(o.Training.BatchSize, true, seed), valid?.Batches(o.Training.BatchSize, false, seed),
            o.Loss, o.Training, o.Progress);
        network.to(torch.CPU);
        network.eval();

        var withBounds = o.LowerBoundColumnName is not null;
        var (lower, upper) = withBounds ? ResidualQuantiles(network, valid ?? train, o.ConfidenceLevel) : (null, null);
        var model = new LmuForecastModel
        {
            Network = network.ToSpec(t),
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
        var chain = CreateChain(_ml, model);
        return new LmuForecastTransformer(chain, model, result, network.ParameterCount);
    }

    /// <summary>
    /// The input columns plus the forecast (and bound) columns, Vector&lt;Single, Horizon&gt;. SchemaShape columns have
    /// no public constructor, so the output columns are obtained from built-in estimators that yield the same type.
    /// </summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        var o = _options;
        IEstimator<ITransformer> shape;
        if (o.SeriesColumnName is not null)
        {
            Require(inputSchema, o.SeriesColumnName, "series");
            var repeated = Enumerable.Repeat(o.SeriesColumnName, o.Horizon).ToArray();
            shape = _ml.Transforms.Concatenate(o.OutputColumnName, repeated);
            if (o.LowerBoundColumnName is not null)
            {
                shape = shape.Append(_ml.Transforms.Concatenate(o.LowerBoundColumnName, repeated))
                    .Append(_ml.Transforms.Concatenate(o.UpperBoundColumnName!, repeated));
            }
        }
        else
        {
            Require(inputSchema, o.WindowColumnName, "window");
            Require(inputSchema, o.LabelColumnName, "label");
            shape = _ml.Transforms.CopyColumns(o.OutputColumnName, o.LabelColumnName);
            if (o.LowerBoundColumnName is not null)
            {
                shape = shape.Append(_ml.Transforms.CopyColumns(o.LowerBoundColumnName, o.LabelColumnName))
                    .Append(_ml.Transforms.CopyColumns(o.UpperBoundColumnName!, o.LabelColumnName));
            }
        }

        foreach (var c in o.CovariateColumnNames)
        {
            Require(inputSchema, c, "covariate");
        }

        return shape.GetOutputSchema(inputSchema);
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
    private static (double[] Lower, double[] Upper) ResidualQuantiles(LmuNetwork network, ForecastWindowSet set, double level)
    {
        var h = set.Horizon;
        var residuals = Enumerable.Range(0, h).Select(_ => new List<double>(set.Count)).ToArray();
        using (torch.no_grad())
        {
            foreach (var batch in set.Batches(256, false, 0).Batches(0))
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
