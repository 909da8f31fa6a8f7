namespace Lmu.MLNet.Orleans;

/// <summary>One reading of a series, numbered by its sender.</summary>
/// <param name="Sequence">
/// The reading's number in its series: 1 for the first, then consecutive. The grain applies reading n only right after
/// n - 1 (see <see cref="ISeriesForecastGrain"/>), which makes a resend harmless and a lost reading visible.
/// </param>
/// <param name="Value">The series value (finite).</param>
/// <param name="Covariates">One finite value per covariate of the model, in the model's order (empty without covariates).</param>
[GenerateSerializer, Immutable, Alias("Lmu.SeriesObservation")]
public sealed record SeriesObservation([property: Id(0)] long Sequence, [property: Id(1)] float Value, [property: Id(2)] float[] Covariates)
{
    /// <summary>A reading without covariates.</summary>
    public SeriesObservation(long sequence, float value)
        : this(sequence, value, [])
    {
    }
}
