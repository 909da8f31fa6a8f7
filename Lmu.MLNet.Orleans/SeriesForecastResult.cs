namespace Lmu.MLNet.Orleans;

/// <summary>A series grain's answer: its forecast after the last applied reading, and where the series stands.</summary>
/// <param name="Outcome">What the call did with its readings (<see cref="ObservationOutcome.Applied"/> for a forecast read).</param>
/// <param name="LastSequence">Number of the last reading applied (and persisted); 0 before the first.</param>
/// <param name="ObservationCount">Readings the current model's engine has seen (after a model switch: the re-warm readings and those since).</param>
/// <param name="ModelVersion">The model version the series uses now.</param>
/// <param name="ModelFingerprint">That model's SHA-256 fingerprint.</param>
/// <param name="Forecast">The next Horizon values, or null until the engine has seen a full window.</param>
/// <param name="Lower">Lower bounds, or null (not ready, or a model without bounds).</param>
/// <param name="Upper">Upper bounds, or null (not ready, or a model without bounds).</param>
[GenerateSerializer, Immutable, Alias("Lmu.SeriesForecastResult")]
public sealed record SeriesForecastResult(
    [property: Id(0)] ObservationOutcome Outcome,
    [property: Id(1)] long LastSequence,
    [property: Id(2)] long ObservationCount,
    [property: Id(3)] int ModelVersion,
    [property: Id(4)] string ModelFingerprint,
    [property: Id(5)] float[]? Forecast,
    [property: Id(6)] float[]? Lower,
    [property: Id(7)] float[]? Upper);
