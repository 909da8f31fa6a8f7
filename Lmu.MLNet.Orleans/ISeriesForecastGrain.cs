namespace Lmu.MLNet.Orleans;

/// <summary>
/// The streaming forecast of one series (the grain's string key is the series id): it takes readings, keeps the LMU
/// engine's state, persists it, and answers the forecast with its bounds.
/// </summary>
/// <remarks>
/// Exactly once: reading n is applied only when the last applied one is n - 1; a reading numbered at most the last
/// applied one is a resend and is skipped (the answer is the current forecast); one above n is a gap and is refused
/// (<see cref="ObservationOutcome.Gap"/>). After each call that applied readings the grain writes the engine state and
/// the last number in one storage write, and answers only after it succeeded. If the write fails the grain throws and
/// deactivates, dropping its in-memory state, so the next call starts again from the stored state: a sender that
/// resends every unacknowledged reading (same numbers) gets each applied once, whichever silo holds the series.
/// Calls for one series are applied in the order the grain receives them, which for calls sent concurrently is not the
/// order sent: a sender awaits each call of a series before the next, or sends the readings as one batch (QA: 5,000
/// readings sent without awaiting were applied 12 times and refused as gaps 4,988 times, nothing lost). When the grain
/// cannot get its model (the version's file missing or damaged on this silo, or not listed), the call throws and the
/// activation is released, so a resend may be placed on another silo.
/// <para>
/// A series holding nothing releases its activation after a read, a gap or a removal, so calls queued behind such a
/// call are forwarded to its next activation, and Orleans refuses one it has forwarded twice with
/// <c>OrleansMessageRejectionException</c> ("Forwarding failed ... after DeactivateOnIdle"): Orleans QA saw 951 of 1,000
/// concurrent first readings of one new id refused so. Such a call was never run; every call here is safe to send
/// again (readings carry their numbers), as serve --series does up to five times.
/// </para>
/// <para>
/// In a cluster that still has silos of a version before 0.4.0, which lack <see cref="ResetAsync"/> and
/// <see cref="ForgetAsync"/>, those calls fail ("Unable to resolve type alias") for the series such a silo holds (Orleans
/// QA): the request cannot be read there, before any version rule of Orleans could move the series (a [Version]
/// attribute did not help: regression QA). Upgrade every silo before calling them.
/// </para>
/// </remarks>
[Alias("Lmu.ISeriesForecastGrain")]
public interface ISeriesForecastGrain : IGrainWithStringKey
{
    /// <summary>Applies one reading (see the remarks for the numbering rule) and returns the forecast after it.</summary>
    /// <exception cref="ArgumentException">A value is not finite, the covariates do not match the model, or the number is below 1; nothing is applied.</exception>
    /// <exception cref="InvalidDataException">The stored state cannot be resumed (damaged: see <see cref="ResetAsync"/>; or another model under its version number).</exception>
    /// <exception cref="InvalidOperationException">This silo lists no model file for the series' version (its configuration); the message names the series.</exception>
    /// <exception cref="IOException">The model file of the series' version cannot be read on this silo (e.g. <see cref="FileNotFoundException"/>: an older version's file removed while series still use it).</exception>
    [Alias("Observe")]
    Task<SeriesForecastResult> ObserveAsync(SeriesObservation observation);

    /// <summary>Applies readings in order (one storage write for the call) and returns the forecast after the last one applied.</summary>
    /// <exception cref="ArgumentException">The batch is empty, a number goes back from one reading to the next or is repeated with another reading (an identical repeat is a resend), a value is not finite, the covariates do not match the model, or a number is below 1; nothing of the call is applied.</exception>
    /// <exception cref="InvalidDataException">The stored state cannot be resumed (damaged: see <see cref="ResetAsync"/>; or another model under its version number).</exception>
    /// <exception cref="InvalidOperationException">This silo lists no model file for the series' version (its configuration); the message names the series.</exception>
    /// <exception cref="IOException">The model file of the series' version cannot be read on this silo.</exception>
    [Alias("ObserveBatch")]
    Task<SeriesForecastResult> ObserveBatchAsync(SeriesObservation[] observations);

    /// <summary>The forecast after the last applied reading (the model is not switched by a read).</summary>
    /// <exception cref="InvalidDataException">The stored state cannot be resumed (damaged, or another model under its version number; the message says which).</exception>
    /// <exception cref="InvalidOperationException">This silo lists no model file for the series' version; the message names the series.</exception>
    /// <exception cref="IOException">The model file of the series' version cannot be read on this silo.</exception>
    [Alias("GetForecast")]
    Task<SeriesForecastResult> GetForecastAsync();

    /// <summary>
    /// Starts the series over: its stored engine state is dropped (a damaged one, which no call can resume, or one an
    /// operator wants gone) and the last reading's number is kept, so the sender's numbering goes on; the next reading
    /// starts a new engine on the silo's current version (or the series' newer one), which forecasts again after a
    /// window of readings. One storage write; if it fails, the call throws and nothing changed.
    /// </summary>
    [Alias("Reset")]
    Task<SeriesForecastResult> ResetAsync();

    /// <summary>
    /// Removes the series from storage (its engine state and its last reading's number) and releases its activation,
    /// for a series that has ended or gone quiet, so that its record stops taking room (QA: an in-memory store kept every
    /// series ever seen until the process ran out of memory). A later reading starts the series anew at number 1, as
    /// after a loss of storage. With <paramref name="onlyAtSequence"/>, only a series whose last applied reading has that
    /// number is removed: a caller that saw the series quiet at that number cannot remove readings applied since. One
    /// storage call; if it fails, the call throws and the stored series is unchanged.
    /// </summary>
    /// <param name="onlyAtSequence">Null to remove the series whatever it holds; a number to remove it only while its last applied reading is that one.</param>
    /// <returns>True when a stored series was removed; false when nothing was stored, or the last reading was not <paramref name="onlyAtSequence"/>.</returns>
    [Alias("Forget")]
    Task<bool> ForgetAsync(long? onlyAtSequence);
}
