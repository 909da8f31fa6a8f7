using Lmu.MLNet.Forecasting;

namespace Lmu.MLNet.Orleans;

/// <summary>
/// The series grain (see <see cref="ISeriesForecastGrain"/> for the exactly-once rule). It takes its model from the
/// silo's <see cref="ForecastModelCache"/>, keeps one <see cref="LmuForecastEngine"/>, and persists the engine's
/// <c>SaveState()</c> bytes with the last reading's number after every call that applied readings.
/// </summary>
/// <remarks>
/// Model rollout: the series uses version max(the version its state was written with, the silo's current version).
/// When the silo's current version is newer, the grain switches at the start of its next observe call, before that
/// call's readings: the new model's engine is re-warmed with the old engine's last min(old window, new window)
/// readings (when both models take the same covariates; otherwise it starts empty), then the call's readings are
/// applied and the new state persisted. The old state is never resumed by the new model: a state resumes only the
/// model whose fingerprint it carries (checked by <c>LmuForecastEngineModel.ResumeEngine</c>). A series never
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
        [PersistentState(StateName, ForecastFleetOptions.StorageName)] IPersistentState<SeriesForecastState> state, ForecastModelCache models)
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
        var engine = EngineForObserve();
        var last = _state.State.LastSequence;
        var apply = new List<SeriesObservation>(observations.Length);
        var outcome = ObservationOutcome.Duplicate;
        foreach (var o in observations)
        {
            ArgumentNullException.ThrowIfNull(o, nameof(observations));
            if (o.Sequence < 1)
            {
                // Numbers start at 1: a sender counting from 0 had its first reading skipped as a resend, silently (found by QA).
                throw new ArgumentException(
                    $"Series '{this.GetPrimaryKeyString()}': reading number {o.Sequence}; sequence numbers start at 1 (1, 2, ...), so it would be skipped as a resend. Nothing of this call was applied.");
            }

            if (o.Sequence <= last)
            {
                continue;
            }

            if (o.Sequence != last + 1)
            {
                outcome = ObservationOutcome.Gap;
                break;
            }

            Validate(engine, o);
            apply.Add(o);
            last = o.Sequence;
        }

        if (apply.Count == 0)
        {
            return Result(outcome);
        }

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
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        DropEngine();
        return base.OnDeactivateAsync(reason, cancellationToken);
    }

    private LmuForecastEngine EngineForObserve()
    {
        if (_engine is null)
        {
            if (_state.State.EngineState is null)
            {
                _lease = _models.Acquire(Math.Max(_models.CurrentVersion, _state.State.ModelVersion));
                _engine = _lease.Model.CreateEngine();
                return _engine;
            }

            Resume();
        }

        var target = _models.CurrentVersion;
        if (target > _lease!.Version)
        {
            Switch(target);
        }

        return _engine!;
    }

    // The stored state with the model that wrote it: the version's model must have the state's fingerprint.
    private void Resume()
    {
        var state = _state.State;
        var lease = _models.Acquire(state.ModelVersion);
        try
        {
            _engine = lease.Model.ResumeEngine(state.EngineState);
        }
        catch (InvalidDataException e)
        {
            lease.Dispose();
            throw new InvalidDataException(
                $"Series '{this.GetPrimaryKeyString()}': its stored state (model version {state.ModelVersion}, fingerprint {state.ModelFingerprint}) " +
                $"cannot be resumed by this silo's model version {state.ModelVersion} (fingerprint {lease.Model.Fingerprint}): {e.Message} " +
                "A version number must name one model file for good; restore that version's file.", e);
        }

        _lease = lease;
    }

    private void Switch(int version)
    {
        var lease = _models.Acquire(version);
        var engine = lease.Model.CreateEngine();
        if (engine.CovariateNames.SequenceEqual(_engine!.CovariateNames))
        {
            var recent = _engine.RecentObservations();
            foreach (var o in recent.Skip(Math.Max(0, recent.Count - engine.WindowSize)))
            {
                engine.Observe(o[0], o.AsSpan(1));
            }
        }

        DropEngine();
        (_lease, _engine) = (lease, engine);
    }

    private void DropEngine()
    {
        _lease?.Dispose();
        (_lease, _engine) = (null, null);
    }

    // The engine checks each reading too, but only as it applies it: a batch is checked whole first, so a bad reading
    // anywhere leaves the engine and the stored state as they were.
    private void Validate(LmuForecastEngine engine, SeriesObservation o)
    {
        var covariates = o.Covariates ?? [];
        if (!float.IsFinite(o.Value) || covariates.Length != engine.CovariateNames.Count || !covariates.All(float.IsFinite))
        {
            var names = engine.CovariateNames.Count == 0 ? "none" : string.Join(", ", engine.CovariateNames);
            throw new ArgumentException(
                $"Series '{this.GetPrimaryKeyString()}', reading {o.Sequence}: value {o.Value} with {covariates.Length} covariate(s) " +
                $"[{string.Join(", ", covariates)}]; the model needs a finite value and {engine.CovariateNames.Count} finite covariate(s) ({names}). Nothing of this call was applied.");
        }
    }

    private SeriesForecastResult Result(ObservationOutcome outcome)
    {
        var forecast = _engine?.Current;
        return new SeriesForecastResult(
            outcome, _state.State.LastSequence, _engine?.ObservationCount ?? 0, _lease?.Version ?? _state.State.ModelVersion,
            _engine?.ModelFingerprint ?? _state.State.ModelFingerprint, forecast?.Forecast, forecast?.LowerBound, forecast?.UpperBound);
    }
}
