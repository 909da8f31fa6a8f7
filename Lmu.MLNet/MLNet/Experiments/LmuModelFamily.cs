namespace Lmu.MLNet.Experiments;

/// <summary>The kinds of model an <see cref="LmuClassificationExperiment"/> can search (as AutoML searches several trainers).</summary>
public enum LmuModelFamily
{
    /// <summary>
    /// A trained LMU network (<see cref="LmuTrialConfiguration"/>): sampled from the network ranges of
    /// <see cref="LmuSearchSpace"/> and pruned by successive halving on its epochs.
    /// </summary>
    LmuNetwork = 0,

    /// <summary>
    /// Pooled random projections of fixed Legendre memories (<see cref="LmuPooledFeaturizerEstimator"/>) followed by the
    /// leave-one-out ridge classifier (<see cref="RidgeClassifierTrainer"/>), configured by
    /// <see cref="LmuPooledRidgeConfiguration"/>: nothing is trained by epochs, so each configuration is evaluated once,
    /// fully, at the start of a bracket.
    /// </summary>
    PooledRidge = 1,
}
