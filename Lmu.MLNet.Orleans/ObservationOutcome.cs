namespace Lmu.MLNet.Orleans;

/// <summary>What a series grain did with the readings of one call.</summary>
public enum ObservationOutcome
{
    /// <summary>Every new reading was applied, in order, and the state persisted (readings already applied were skipped).</summary>
    Applied = 0,

    /// <summary>Every reading had been applied before (a resend): nothing changed; the answer is the current forecast.</summary>
    Duplicate = 1,

    /// <summary>
    /// A reading's number was above the next expected one: it and the readings after it were not applied (those before
    /// it were, and were persisted). Resend from <see cref="SeriesForecastResult.LastSequence"/> + 1.
    /// </summary>
    Gap = 2,
}
