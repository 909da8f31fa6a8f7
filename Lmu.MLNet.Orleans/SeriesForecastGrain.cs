using Lmu.MLNet.Forecasting;

namespace Lmu.MLNet.Orleans;

/// <summary>
/// The series grain (see <see cref="ISeriesForecastGrain"/> for the exactly-once rule). It takes its model from the
/// silo's <see cref="ForecastModelCache"/>, keeps one <see cref="LmuForecastEngine"/>, and persists the engine's
/// <c>SaveState()</c> bytes with the last reading's number after every call that applied readings.
/// </summary>
/// <remarks>
/// Model rollout: the series uses version max(the version its state was written with, the silo's current version).
/// When the silo's current version is newer, the grain switches with its next observe call that applies readings,
/// before those readings: the new model's engine is re-warmed with the old engine's last min(old window, new window)
/// readings (when both models take the same covariates; otherwise it starts empty), then the call's readings are
/// applied and the new state persisted. A call that applies nothing (resends, a gap, a refused reading) does not
/// switch, so what the series answers always matches what is stored (QA: a resend switched the grain in memory only,
/// and reads flipped between the versions). When the new model takes another number of covariates, readings in the
/// old model's layout are still applied by the old model, and the series switches with its first call in the new
/// layout, so senders can move to the new layout after the silos (QA: senders could not know when a series switched,
/// and their old-layout readings were refused). The old state is never resumed by the new model: a state resumes only
/// the model whose fingerprint it carries (checked by <c>LmuForecastEngineModel.ResumeEngine</c>). A series never
/// switches back (a series resumed on a silo whose current version is older keeps its newer version, if that silo has
/// its file). Reads (<see cref="GetForecastAsync"/>) do not switch.
/// </remarks>
public sealed class SeriesForecastGrain : Grain, ISeriesForecastGrain
{
    /// <summary>Name of the grain's persistent state.</summary>
    public const string StateName = "series";

    private readonly IPersistentState<SeriesForecastState> _state;
    private readonly ForecastModelCache _models;
    private ModelLease? _lease;
    private LmuForecastEngine? _engine;

    /// <summary>Created by the runtime.</summary>
    public SeriesForecastGrain(
        [PersistentState(StateName, CodecSafeGrainStorage.Name)] IPersistentState<SeriesForecastState> state, ForecastModelCache models)
    {
        _state = state;
        _models = models;
    }

    /// <inheritdoc />
    public Task<SeriesForecastResult> ObserveAsync(SeriesObservation observation)
    {
        ArgumentNullException.ThrowIfNull(observation);
        return ObserveBatchAsync([observation]);
    }

    /// <inheritdoc />
    public async Task<SeriesForecastResult> ObserveBatchAsync(SeriesObservation[] observations)
    {
        ArgumentNullException.ThrowIfNull(observations);
        if (observations.Length == 0)
        {
            // serve answers 400 to an empty batch; the grain answered Duplicate, as if readings had been resent (QA).
            throw new ArgumentException($"Series '{this.GetPrimaryKeyString()}': the batch holds no reading.", nameof(observations));
        }

        // The whole call is checked before anything is applied (a gap ends the applying loop early).
        for (var i = 0; i < observations.Length; i++)
        {
            var o = observations[i];
            ArgumentNullException.ThrowIfNull(o, nameof(observations));
            if (o.Sequence < 1)
            {
                // Numbers start at 1: a sender counting from 0 had its first reading skipped as a resend, silently (found by QA).
                throw new ArgumentException(
                    $"Series '{this.GetPrimaryKeyString()}': reading number {o.Sequence}; sequence numbers start at 1 (1, 2, ...), so it would be skipped as a resend. Nothing of this call was applied.");
            }

            var before = i > 0 ? observations[i - 1] : null;
            if (before is not null && (o.Sequence < before.Sequence || (o.Sequence == before.Sequence && !SameReading(o, before))))
            {
                // A number going back, or repeated with another value, inside one call is the sender's mistake, not a
                // resend: [16, 17, 17 (another value), 18] applied the first 17 and skipped the second, and answered
                // Applied (QA). A repeat of the same reading (a queue that delivers twice) is a resend and is skipped (review).
                // Invariant numbers: a silo under de-DE wrote "84,602" (review).
                var (value, beforeValue) = (o.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), before.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
                throw new ArgumentException(
                    $"Series '{this.GetPrimaryKeyString()}': the batch's reading numbers must not go back, and a number repeated must repeat its reading, " +
                    $"but reading {o.Sequence} (value {value}) follows reading {before.Sequence} (value {beforeValue}) at position {i + 1} of {observations.Length}. " +
                    "Nothing of this call was applied.");
            }
        }

        var last = _state.State.LastSequence;
        var apply = new List<SeriesObservation>(observations.Length);
        var outcome = ObservationOutcome.Duplicate;
        foreach (var o in observations)
        {
            if (o.Sequence <= last)
            {
                continue;
            }

            if (o.Sequence != last + 1)
            {
                outcome = ObservationOutcome.Gap;
                break;
            }

            apply.Add(o);
            last = o.Sequence;
        }

        if (apply.Count == 0)
        {
            // Nothing to apply: answer with the series' own engine, never switched (see the remarks).
            if (_engine is null && _state.State.EngineState is not null)
            {
                Resume();
            }
            else if (_state.State.LastSequence == 0)
            {
                // A gap on an unknown id stores nothing: no activation kept until the idle collection (as for a read;
                // QA: 20,000 such ids took about 50 MB for 15 minutes).
                DeactivateOnIdle();
            }

            return Result(outcome);
        }

        var engine = EngineFor(apply);

        foreach (var o in apply)
        {
            engine.Observe(o.Value, o.Covariates);
        }

        var state = _state.State;
        var previous = (state.LastSequence, state.ModelVersion, state.ModelFingerprint, state.EngineState);
        (state.LastSequence, state.ModelVersion, state.ModelFingerprint, state.EngineState) = (last, _lease!.Version, engine.ModelFingerprint, engine.SaveState());
        try
        {
            await _state.WriteStateAsync();
        }
        catch
        {
            // The engine ran ahead of storage: forget it, and this activation, so the next call starts from what is
            // stored and the sender's resend applies these readings (once).
            (state.LastSequence, state.ModelVersion, state.ModelFingerprint, state.EngineState) = previous;
            DropEngine();
            DeactivateOnIdle();
            throw;
        }

        return Result(outcome == ObservationOutcome.Gap ? ObservationOutcome.Gap : ObservationOutcome.Applied);
    }

    /// <inheritdoc />
    public Task<SeriesForecastResult> GetForecastAsync()
    {
        if (_engine is null && _state.State.EngineState is not null)
        {
            Resume();
        }
        else if (_state.State.EngineState is null)
        {
            // A series never observed keeps nothing worth an activation: released after this call, where each lookup of
            // an unknown id held one until the idle collection (15 minutes; found by QA: 20,000 unknown ids, +60 MB).
            DeactivateOnIdle();
        }

        return Task.FromResult(Result(ObservationOutcome.Applied));
    }

    /// <inheritdoc />
    public async Task<SeriesForecastResult> ResetAsync()
    {
        // Without resuming: the state may be the damaged one this call exists for (QA: such a series was stuck for good).
        DropEngine();
        var state = _state.State;
        if (state.EngineState is null)
        {
            // Nothing stored to drop (never observed, or reset already): no write, and no activation kept (review).
            DeactivateOnIdle();
            return Result(ObservationOutcome.Applied);
        }

        var previous = (state.ModelFingerprint, state.EngineState);
        (state.ModelFingerprint, state.EngineState) = (string.Empty, null);
        try
        {
            await _state.WriteStateAsync();
        }
        catch
        {
            (state.ModelFingerprint, state.EngineState) = previous;
            DeactivateOnIdle();
            throw;
        }

        return Result(ObservationOutcome.Applied);
    }

    /// <inheritdoc />
    public async Task<bool> ForgetAsync(long? onlyAtSequence)
    {
        var state = _state.State;
        if ((!_state.RecordExists && state.LastSequence == 0) || (onlyAtSequence is { } at && state.LastSequence != at))
        {
            if (state.LastSequence == 0)
            {
                DeactivateOnIdle();
            }

            return false;
        }

        var previous = (state.LastSequence, state.ModelVersion, state.ModelFingerprint, state.EngineState);
        try
        {
            await _state.ClearStateAsync();
        }
        catch
        {
            // What storage holds is unknown after a failed call: the next call starts from what it reads.
            (state.LastSequence, state.ModelVersion, state.ModelFingerprint, state.EngineState) = previous;
            DropEngine();
            DeactivateOnIdle();
            throw;
        }

        DropEngine();
        DeactivateOnIdle();
        return true;
    }

    /// <inheritdoc />
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        DropEngine();
        return base.OnDeactivateAsync(reason, cancellationToken);
    }

    /// <summary>
    /// The engine that applies <paramref name="apply"/> (at least one reading), each reading checked against it (a bad
    /// one throws, and nothing changed): the series' own, or the silo's newer model's, switched to here.
    /// </summary>
    private LmuForecastEngine EngineFor(IReadOnlyList<SeriesObservation> apply)
    {
        if (_engine is null)
        {
            if (_state.State.EngineState is null)
            {
                var lease = Acquire(Math.Max(_models.CurrentVersion, _state.State.ModelVersion));
                LmuForecastEngine fresh;
                try
                {
                    fresh = lease.Model.CreateEngine();
                    Validate(fresh, apply, null);
                }
                catch
                {
                    lease.Dispose();
                    throw;
                }

                (_lease, _engine) = (lease, fresh);
                return fresh;
            }

            Resume();
        }

        var target = _models.CurrentVersion;
        if (target <= _lease!.Version)
        {
            Validate(_engine!, apply, null);
            return _engine!;
        }

        var newLease = Acquire(target);
        try
        {
            var engine = Prepare(newLease.Model);
            var width = engine.CovariateNames.Count;
            var oldWidth = _engine!.CovariateNames.Count;
            if (width != oldWidth && apply.All(o => (o.Covariates?.Length ?? 0) == oldWidth))
            {
                // The old layout under a model that takes another: the old model goes on until the sender moves over.
                newLease.Dispose();
                Validate(_engine, apply, null);
                return _engine;
            }

            Validate(engine, apply, (target, _lease.Version, _engine.CovariateNames));
            DropEngine();
            (_lease, _engine) = (newLease, engine);
            return engine;
        }
        catch
        {
            newLease.Dispose();
            throw;
        }
    }

    // The stored state with the model that wrote it: the version's model must have the state's fingerprint.
    private void Resume()
    {
        var state = _state.State;
        var lease = Acquire(state.ModelVersion);
        try
        {
            _engine = lease.Model.ResumeEngine(state.EngineState);
        }
        catch (InvalidDataException e)
        {
            lease.Dispose();
            // The same fingerprint on both sides: the model file is right and the stored bytes are damaged (QA: that
            // was reported as a wrong model file, with advice to restore a file that was fine).
            throw new InvalidDataException(
                lease.Model.Fingerprint == state.ModelFingerprint
                    ? $"Series '{this.GetPrimaryKeyString()}': its stored state is damaged ({e.Message}); the model file of version {state.ModelVersion} is the one that " +
                      "wrote it. Restore the record from a backup, or call ResetAsync to start the series over (its numbering goes on; forecasts return after a new window)."
                    : $"Series '{this.GetPrimaryKeyString()}': its stored state (model version {state.ModelVersion}, fingerprint {state.ModelFingerprint}) " +
                      $"cannot be resumed by this silo's model version {state.ModelVersion} (fingerprint {lease.Model.Fingerprint}): {e.Message} " +
                      "A version number must name one model file for good; restore that version's file.",
                e);
        }

        _lease = lease;
    }

    // The engine of a newer version's model, re-warmed from the series' own engine; not yet the grain's (see EngineFor).
    private LmuForecastEngine Prepare(LmuForecastEngineModel model)
    {
        var engine = model.CreateEngine();
        if (engine.CovariateNames.SequenceEqual(_engine!.CovariateNames))
        {
            var recent = _engine.RecentObservations();
            foreach (var o in recent.Skip(Math.Max(0, recent.Count - engine.WindowSize)))
            {
                engine.Observe(o[0], o.AsSpan(1));
            }
        }

        return engine;
    }

    /// <summary>
    /// The silo's model of <paramref name="version"/>. When it cannot be had (the version's file missing or damaged on
    /// this silo, or the version not listed) this activation goes, so a resend can find the series on another silo: it
    /// stayed here, and every resend failed the same way (QA). The configuration's message names the series too.
    /// </summary>
    private ModelLease Acquire(int version)
    {
        try
        {
            return _models.Acquire(version);
        }
        catch (InvalidOperationException e)
        {
            DeactivateOnIdle();
            throw new InvalidOperationException($"Series '{this.GetPrimaryKeyString()}': {e.Message}", e);
        }
        catch
        {
            DeactivateOnIdle();
            throw;
        }
    }

    private void DropEngine()
    {
        _lease?.Dispose();
        (_lease, _engine) = (null, null);
    }

    // The engine checks each reading too, but only as it applies it: a batch is checked whole first, so a bad reading
    // anywhere leaves the engine and the stored state as they were. switchingFrom: the version and covariates the series
    // leaves with this call, named in the message (a sender sees why its layout changed).
    private void Validate(LmuForecastEngine engine, IReadOnlyList<SeriesObservation> apply, (int To, int Version, IReadOnlyList<string> Covariates)? switchingFrom)
    {
        foreach (var o in apply)
        {
            var covariates = o.Covariates ?? [];
            if (!float.IsFinite(o.Value) || covariates.Length != engine.CovariateNames.Count || !covariates.All(float.IsFinite))
            {
                var switching = switchingFrom is { } from
                    ? $" The series switches to model version {from.To} with this call (it used version {from.Version}, whose covariates were {Names(from.Covariates)})."
                    : string.Empty;
                // Invariant numbers: under a German culture "value 5,5 with 3 covariate(s) [0,5, 1,5, 2,5]" (Orleans QA).
                throw new ArgumentException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"Series '{this.GetPrimaryKeyString()}', reading {o.Sequence}: value {o.Value} with {covariates.Length} covariate(s) " +
                    $"{Preview(covariates)}; the model needs a finite value and {engine.CovariateNames.Count} finite covariate(s) ({Names(engine.CovariateNames)}).{switching} Nothing of this call was applied."));
            }
        }
    }

    // The same value and covariates (a redelivered reading; float equality, so 0 and -0 count as the same).
    private static bool SameReading(SeriesObservation a, SeriesObservation b) =>
        a.Value.Equals(b.Value) && (a.Covariates ?? []).AsSpan().SequenceEqual(b.Covariates ?? []);

    private static string Names(IReadOnlyList<string> names) => names.Count == 0 ? "none" : string.Join(", ", names);

    // At most the first eight values: the message quoted them all, and a reading of a million covariates got a 10 MB
    // exception, one of twelve million an answer past Orleans' message limit, so a timeout instead (Orleans QA).
    private static string Preview(float[] covariates) =>
        covariates.Length <= PreviewValues
            ? $"[{string.Join(", ", covariates.Select(Invariant))}]"
            : $"[{string.Join(", ", covariates.Take(PreviewValues).Select(Invariant))}, ... ({covariates.Length} in all)]";

    private static string Invariant(float value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private const int PreviewValues = 8;

    // Copies of the engine's arrays: the result is [Immutable], so Orleans hands it to callers in the silo uncopied, and
    // a caller that changed its forecast in place changed every later answer (QA).
    private SeriesForecastResult Result(ObservationOutcome outcome)
    {
        var forecast = _engine?.Current;
        return new SeriesForecastResult(
            outcome, _state.State.LastSequence, _engine?.ObservationCount ?? 0, _lease?.Version ?? _state.State.ModelVersion,
            _engine?.ModelFingerprint ?? _state.State.ModelFingerprint, forecast?.Forecast.ToArray(), forecast?.LowerBound?.ToArray(), forecast?.UpperBound?.ToArray());
    }
}
