using Microsoft.ML;

namespace Lmu.MLNet.Experiments;

/// <summary>
/// A model of one family fitted on some rows during an experiment: it scores rows for the search and, when it is the
/// best, becomes the experiment's ML.NET model. One subclass per <see cref="LmuModelFamily"/>.
/// </summary>
internal abstract class LmuCandidateFit : IDisposable
{
    /// <summary>Fits <paramref name="configuration"/> on <paramref name="rows"/> of <paramref name="data"/>.</summary>
    /// <param name="configuration">What to fit.</param>
    /// <param name="data">Training data.</param>
    /// <param name="rows">The rows to fit on.</param>
    /// <param name="epochs">Network epochs (null: the configuration's full epochs); the pooled family has none.</param>
    /// <param name="seed">Network initialisation and shuffling seed; the pooled family's seed is in its configuration.</param>
    /// <param name="context">Settings and column names shared by the experiment's fits.</param>
    /// <param name="cancellationToken">Stops the fit with <see cref="OperationCanceledException"/>.</param>
    public static LmuCandidateFit Fit(
        LmuModelConfiguration configuration, LmuExperimentData data, IReadOnlyList<int> rows, int? epochs, int seed, LmuFitContext context, CancellationToken cancellationToken) =>
        configuration switch
        {
            LmuTrialConfiguration network => new LmuNetworkFit(
                LmuTrialRunner.Train(data, rows, network, epochs ?? network.Epochs, seed, context.Settings, context.Device, cancellationToken), data.Steps, data.ClassNames, context.FeaturesColumn, context.ChannelMajor),
            LmuPooledRidgeConfiguration pooled => LmuPooledRidgeFit.Fit(pooled, data, rows, context, cancellationToken),
            _ => throw new ArgumentException($"LMU experiment: no fitter for configurations of type {configuration.GetType().Name}.", nameof(configuration)),
        };

    /// <summary>The metric on <paramref name="rows"/> of <paramref name="data"/> (whose class order is the training data's).</summary>
    public abstract double Score(LmuExperimentData data, IReadOnlyList<int> rows, LmuExperimentMetric metric, CancellationToken cancellationToken);

    /// <summary>
    /// The fitted model as an ML.NET transformer reading the features column of <paramref name="input"/> and writing
    /// <c>Score</c> and <c>PredictedLabel</c>; the caller owns it (it no longer depends on this object).
    /// </summary>
    public abstract ITransformer TakeModel(MLContext ml, IDataView input);

    /// <summary>Releases what the fit holds (not a model already taken).</summary>
    public abstract void Dispose();
}
