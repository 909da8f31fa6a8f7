namespace Lmu.MLNet.Experiments;

/// <summary>
/// One point of the experiment's search space: an <see cref="LmuTrialConfiguration"/> (an LMU network) or an
/// <see cref="LmuPooledRidgeConfiguration"/> (pooled Legendre memories + ridge). Switch on the type or on
/// <see cref="Family"/>.
/// </summary>
public abstract record LmuModelConfiguration
{
    // Only this assembly's families derive from it: the experiment knows how to fit, score and export each one.
    private protected LmuModelConfiguration()
    {
    }

    /// <summary>Which model family these values configure.</summary>
    public abstract LmuModelFamily Family { get; }
}
