using Lmu.MLNet.Classification;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Experiments;

/// <summary>
/// The pooled-memory + ridge family (<see cref="LmuModelFamily.PooledRidge"/>): <see cref="LmuPooledFeaturizerEstimator"/>
/// then <see cref="RidgeClassifierTrainer"/>, fitted with the same public estimators a user would chain, so the model
/// the search scores is exactly the one it returns.
/// </summary>
internal sealed class LmuPooledRidgeFit : LmuCandidateFit
{
    private readonly LmuFitContext _context;
    private LmuPooledFeaturizerTransformer? _featurizer;
    private RidgeClassifierTransformer? _ridge;

    private LmuPooledRidgeFit(LmuPooledFeaturizerTransformer featurizer, RidgeClassifierTransformer ridge, LmuFitContext context)
    {
        _featurizer = featurizer;
        _ridge = ridge;
        _context = context;
    }

    /// <summary>
    /// Fits on <paramref name="rows"/>. The rows are fed as they are (fixed length, no length column): in right-aligned
    /// variable-length data the leading zeros are read as steps, see <see cref="LmuClassificationExperiment"/>.
    /// </summary>
    public static LmuPooledRidgeFit Fit(LmuPooledRidgeConfiguration configuration, LmuExperimentData data, IReadOnlyList<int> rows, LmuFitContext context, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var view = data.ToDataView(new MLContext(seed: 0), rows, context.FeaturesColumn, context.LabelColumn, context.ChannelMajor);
        var options = configuration.FeaturizerOptions(context.FeaturesColumn, context.PooledColumn, data.Channels);
        // The model it becomes reads the user's column, so it is fitted on rows laid out as the user's are.
        options.InputLayout = context.ChannelMajor ? LmuInputLayout.ChannelMajor : LmuInputLayout.StepMajor;
        var featurizer = new LmuPooledFeaturizerEstimator(options, context.TempFolder).Fit(view);
        try
        {
            // The ridge's read drives the (lazy) featurization row by row; it checks the token per row and per row (or
            // block of rows) of each pass of its solver (cubic in min(rows, features): what dominates on thousands of
            // rows), so the budget stops it promptly.
            var ridge = new RidgeClassifierTrainer(new RidgeClassifierOptions { LabelColumnName = context.LabelColumn, FeatureColumnName = context.PooledColumn }, context.TempFolder)
                .Fit(featurizer.Transform(view), cancellationToken);
            return new LmuPooledRidgeFit(featurizer, ridge, context);
        }
        catch
        {
            featurizer.Dispose();
            throw;
        }
    }

    public override double Score(LmuExperimentData data, IReadOnlyList<int> rows, LmuExperimentMetric metric, CancellationToken cancellationToken)
    {
        var (featurizer, ridge) = Fitted();
        var view = data.ToDataView(new MLContext(seed: 0), rows, _context.FeaturesColumn, _context.LabelColumn, _context.ChannelMajor);
        var scored = ridge.Transform(featurizer.Transform(view));
        var classes = data.ClassNames.Count;
        var score = scored.Schema["Score"];
        var probabilities = new float[rows.Count * classes];
        using (var cursor = scored.GetRowCursor([score]))
        {
            var get = cursor.GetGetter<VBuffer<float>>(score);
            var buffer = default(VBuffer<float>);
            var row = 0;
            while (cursor.MoveNext())
            {
                cancellationToken.ThrowIfCancellationRequested();
                get(ref buffer);
                // Score slot k is class k: the ridge's classes are the label key's values, in ClassNames order.
                buffer.CopyTo(probabilities, row++ * classes);
            }
        }

        // Score is the softmax of the ridge's decision values: the accuracies read its arg-max; log-loss reads it as
        // a probability, which it is not calibrated to be (documented on the family).
        return LmuTrialRunner.Metric(probabilities, rows.Select(r => data.Labels[r]).ToArray(), classes, metric);
    }

    public override ITransformer TakeModel(MLContext ml, IDataView input)
    {
        var (featurizer, ridge) = Fitted();
        // The pooled features are an intermediate column: drop them so the model writes what a network's does.
        var drop = ml.Transforms.DropColumns(_context.PooledColumn).Fit(ridge.Transform(featurizer.Transform(input)));
        _featurizer = null;
        _ridge = null;
        return new TransformerChain<ITransformer>(featurizer, ridge, drop);
    }

    public override void Dispose()
    {
        _ridge?.Dispose();
        _featurizer?.Dispose();
        _ridge = null;
        _featurizer = null;
    }

    private (LmuPooledFeaturizerTransformer Featurizer, RidgeClassifierTransformer Ridge) Fitted() =>
        _featurizer is not null && _ridge is not null ? (_featurizer, _ridge) : throw new ObjectDisposedException(nameof(LmuPooledRidgeFit));
}
