namespace Lmu.MLNet.Experiments;

/// <summary>The validation metric an LMU experiment optimises (names as in ML.NET's MulticlassClassificationMetrics).</summary>
public enum LmuExperimentMetric
{
    /// <summary>Fraction of rows classified correctly (higher is better).</summary>
    MicroAccuracy = 0,

    /// <summary>Mean over classes of each class's recall (higher is better); robust to class imbalance.</summary>
    MacroAccuracy = 1,

    /// <summary>Mean negative log-probability of the true class (lower is better).</summary>
    LogLoss = 2,
}
