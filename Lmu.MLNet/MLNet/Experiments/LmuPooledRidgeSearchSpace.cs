namespace Lmu.MLNet.Experiments;

/// <summary>
/// Ranges of the pooled-memory + ridge family (<see cref="LmuModelFamily.PooledRidge"/>) in an
/// <see cref="LmuSearchSpace"/>. The defaults surround the featurizer's own (50 windows x 100 projections, order 9:
/// 10,000 features), the random-convolution recipe it follows.
/// </summary>
/// <remarks>
/// The family trains nothing by epochs and a configuration costs seconds on UCR-sized data, so it does not enter
/// successive halving: each bracket starts with <see cref="TrialsPerBracket"/> of its configurations, each evaluated
/// once and fully (same folds or hold-out and metric as the networks), reported at rung 0 with 0 epochs, and ranked
/// as fully trained when the best trial is chosen.
/// </remarks>
public sealed class LmuPooledRidgeSearchSpace
{
    /// <summary>Legendre memories (window lengths log-uniform in [min(8, T), T]). Default 30..60.</summary>
    public LmuIntRange Windows { get; set; } = new(30, 60);

    /// <summary>Random projections per memory. Default 50..100.</summary>
    public LmuIntRange ProjectionsPerWindow { get; set; } = new(50, 100);

    /// <summary>Legendre coefficients per memory (2..64). Default 6..12.</summary>
    public LmuIntRange Order { get; set; } = new(6, 12);

    /// <summary>
    /// Normalisations tried in turn: the k-th pooled configuration of the experiment uses entry <c>k mod Count</c>, so
    /// the first brackets try each (a choice that matters more than the numeric ranges: shape for univariate series,
    /// magnitude for some multivariate ones). Default per-row z-score, then none.
    /// </summary>
    public IReadOnlyList<LmuFeatureNormalization> Normalizations { get; set; } = [LmuFeatureNormalization.ZScorePerRow, LmuFeatureNormalization.None];

    /// <summary>Pooled configurations evaluated at the start of each bracket. Default 2.</summary>
    public int TrialsPerBracket { get; set; } = 2;

    /// <summary>
    /// The family is left out (never sampled) when the training data has more rows than this: the ridge holds every
    /// row's features in memory and costs <c>O(n^2 p + n^3)</c> for n rows of p features. Default 3000.
    /// </summary>
    public int MaxTrainingRows { get; set; } = 3000;

    /// <summary>A copy with its own list (a null stays null, for <see cref="Validate"/> to name).</summary>
    internal LmuPooledRidgeSearchSpace Clone()
    {
        var copy = (LmuPooledRidgeSearchSpace)MemberwiseClone();
        copy.Normalizations = Normalizations?.ToArray()!;
        return copy;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        Windows.Validate("PooledRidge.Windows", 1);
        ProjectionsPerWindow.Validate("PooledRidge.ProjectionsPerWindow", 1);
        Order.Validate("PooledRidge.Order", 2);
        if (Order.Max > 64)
        {
            throw new ArgumentException($"LmuSearchSpace.PooledRidge.Order must lie in [2, 64] but is [{Order.Min}, {Order.Max}].", nameof(Order));
        }

        if ((long)Windows.Max * ProjectionsPerWindow.Max > 1_000_000)
        {
            throw new ArgumentException(
                $"LmuSearchSpace.PooledRidge: Windows.Max x ProjectionsPerWindow.Max must be at most 1,000,000 but is {(long)Windows.Max * ProjectionsPerWindow.Max}.",
                nameof(ProjectionsPerWindow));
        }

        if (Normalizations is null || Normalizations.Count == 0 || Normalizations.Any(n => !Enum.IsDefined(n)))
        {
            throw new ArgumentException("LmuSearchSpace.PooledRidge.Normalizations must hold at least one declared LmuFeatureNormalization.", nameof(Normalizations));
        }

        if (TrialsPerBracket < 1)
        {
            throw new ArgumentException($"LmuSearchSpace.PooledRidge.TrialsPerBracket must be at least 1 but was {TrialsPerBracket}.", nameof(TrialsPerBracket));
        }

        if (MaxTrainingRows < 2)
        {
            throw new ArgumentException($"LmuSearchSpace.PooledRidge.MaxTrainingRows must be at least 2 but was {MaxTrainingRows}.", nameof(MaxTrainingRows));
        }
    }

    /// <summary>The <paramref name="index"/>-th pooled configuration; draws happen in a fixed order, so a seed fixes the sequence.</summary>
    internal LmuPooledRidgeConfiguration Sample(Random rng, int index, int seed) => new(
        Windows.Sample(rng),
        ProjectionsPerWindow.Sample(rng),
        Order.Sample(rng),
        Normalizations[index % Normalizations.Count],
        seed);
}
