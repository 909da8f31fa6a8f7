namespace Lmu.MLNet.Forecasting;

// The engine's checkpoint: the model fingerprint, the model and the state, inside EngineCheckpointFile's checked container.
public sealed partial class LmuForecastEngine
{
    /// <summary>
    /// Saves the model and the current state; <see cref="Load(string)"/> resumes from it with identical forecasts.
    /// The file (format 2, or 3 for a model that format-2 readers cannot read) carries a SHA-256 checksum and the <see cref="ModelFingerprint"/>; it is written beside
    /// <paramref name="path"/> and moved over it, so a killed write leaves the previous checkpoint intact, and the temp
    /// files of earlier killed writes of the same path are removed.
    /// </summary>
    public void CheckPoint(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        EngineCheckpointFile.Write(path, ToPayload(), EngineCheckpointFile.FormatFor(_model));
    }

    /// <summary>
    /// Said of a file whose checksum held and whose contents could still not be read: not damaged (upgrade QA: an older
    /// version called a newer version's intact checkpoint "inconsistent", which reads as corruption).
    /// </summary>
    internal const string NotDamaged = " (its checksum holds, so the file is not damaged: it was written so, most likely by a newer version of Lmu.MLNet; upgrade Lmu.MLNet where it is read)";

    /// <summary>The model this engine forecasts with.</summary>
    internal LmuForecastModel Model => _model;

    /// <summary>The checkpoint payload (fingerprint, model, state) that <see cref="ReadPayload"/> reads.</summary>
    internal byte[] ToPayload()
    {
        using var use = Use(nameof(CheckPoint));
        using var payload = new MemoryStream();
        using (var w = new BinaryWriter(payload))
        {
            var model = _model.ToBytes();
            w.Write(Convert.FromHexString(_model.Fingerprint));
            w.Write(model.Length);
            w.Write(model);
            WriteState(w);
        }

        return payload.ToArray();
    }

    /// <summary>
    /// The stream's state without the model, as bytes for a host that keeps the model once and many streams (a grain
    /// per series persists them through its storage provider): a versioned header, a SHA-256 of the contents, the
    /// <see cref="ModelFingerprint"/>, then the state as <see cref="CheckPoint"/> writes it. Only
    /// <see cref="LmuForecastEngineModel.ResumeEngine"/> of the same model resumes them, bit-identically.
    /// </summary>
    public byte[] SaveState()
    {
        using var use = Use(nameof(SaveState));
        using var payload = new MemoryStream();
        using (var w = new BinaryWriter(payload, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Convert.FromHexString(_model.Fingerprint));
            WriteState(w);
        }

        return EngineStateBytes.Seal(payload.GetBuffer().AsSpan(0, (int)payload.Length));
    }

    /// <summary>
    /// The last min(<see cref="ObservationCount"/>, <see cref="WindowSize"/>) observations, oldest first, each as
    /// [value, covariates...] exactly as they were fed: what another model needs to take over the stream (feed them to
    /// its engine), since every forecast depends on the last window alone.
    /// </summary>
    public IReadOnlyList<float[]> RecentObservations()
    {
        using var use = Use(nameof(RecentObservations));
        var n = (int)Math.Min(_count, _t);
        var result = new float[n][];
        for (var k = 0; k < n; k++)
        {
            var slot = (int)((_count - n + k) % _t);
            var observation = new float[_c];
            for (var c = 0; c < _c; c++)
            {
                // Exact: every raw value is a float widened to double.
                observation[c] = (float)_raw[slot * _c + c];
            }

            result[k] = observation;
        }

        return result;
    }

    private void WriteState(BinaryWriter w)
    {
        w.Write(_count);
        BinaryArrays.Write(w, _raw);
        BinaryArrays.Write(w, _fullRing);
        BinaryArrays.Write(w, _full);
        BinaryArrays.Write(w, _window);
    }

    /// <summary>Resumes a stream of <paramref name="model"/> from <see cref="SaveState"/> bytes.</summary>
    /// <exception cref="InvalidDataException">Damaged bytes, or the state of another model (the message names both fingerprints).</exception>
    internal static LmuForecastEngine ResumeState(LmuForecastModel model, ReadOnlySpan<byte> state)
    {
        var payload = EngineStateBytes.Open(state);
        using var stream = new MemoryStream(payload, writable: false);
        using var r = new BinaryReader(stream);
        try
        {
            var fingerprint = Convert.ToHexStringLower(ReadExactly(r, 32));
            if (fingerprint != model.Fingerprint)
            {
                throw new InvalidDataException(
                    $"The engine state was written by another model (fingerprint {fingerprint}); this model has fingerprint {model.Fingerprint}. " +
                    "A state resumes only the model that wrote it: start this model's stream with CreateEngine() (and feed it the old engine's RecentObservations()).");
            }

            return ReadState(model, r, stream);
        }
        catch (Exception e) when (e is IOException or FormatException)
        {
            throw new InvalidDataException($"The engine state is inconsistent: {e.Message}", e);
        }
    }

    /// <summary>Resumes an engine, with its own model, from a <see cref="CheckPoint"/> file.</summary>
    /// <exception cref="InvalidDataException">
    /// The file is not an engine checkpoint, has another format (format 1 is refused: re-save it), or is truncated or
    /// corrupt (its checksum is checked before anything is parsed); the message names the file.
    /// </exception>
    /// <exception cref="FileNotFoundException">The file does not exist, or is a folder.</exception>
    /// <exception cref="DirectoryNotFoundException">Its folder does not exist.</exception>
    public static LmuForecastEngine Load(string path) => Load(path, expectedModelFingerprint: null);

    /// <summary>
    /// Resumes an engine from a <see cref="CheckPoint"/> file only if it was written by the model with
    /// <paramref name="expectedModelFingerprint"/> (see <see cref="ModelFingerprint"/> and
    /// <see cref="LmuForecastTransformer.ResumeEngine"/>); null accepts any model, as <see cref="Load(string)"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">
    /// As <see cref="Load(string)"/>, or the checkpoint holds another model; the message names the file and both fingerprints.
    /// </exception>
    public static LmuForecastEngine Load(string path, string? expectedModelFingerprint) => Load(path, expectedModelFingerprint, expectedModel: null);

    /// <summary>
    /// As <see cref="Load(string, string?)"/>; with <paramref name="expectedModel"/> a refusal also says how the two
    /// models' shapes differ (their LMU layer counts, window, horizon), which a fingerprint alone cannot.
    /// </summary>
    internal static LmuForecastEngine Load(string path, string? expectedModelFingerprint, LmuForecastModel? expectedModel)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        LmuForecastEngine engine;
        using (var payload = EngineCheckpointFile.ReadPayload(path))
        {
            try
            {
                engine = ReadPayload(payload);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or FormatException)
            {
                // Past the checksum only a file written wrongly (not damaged) gets here: by a newer version, or a bug.
                throw new InvalidDataException($"The checkpoint '{path}' is inconsistent: {e.Message}{NotDamaged}", e);
            }
        }

        if (expectedModelFingerprint is not null
            && !string.Equals(expectedModelFingerprint.Trim(), engine.ModelFingerprint, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException(
                $"'{path}' is a checkpoint of another model (fingerprint {engine.ModelFingerprint}); the model it should resume has " +
                $"fingerprint {expectedModelFingerprint.Trim()}.{ShapeDifference(engine._model, expectedModel)} A checkpoint resumes only the model " +
                "that wrote it: start this model's stream with CreateEngine() instead.");
        }

        return engine;
    }

    /// <summary>
    /// Parses a checkpoint payload (after the container's checksum): the model fingerprint, the model, then the state.
    /// Every length is bounded by what is left of the payload and checked against the model before the engine
    /// allocates or precomputes anything from the model's sizes.
    /// </summary>
    /// <exception cref="InvalidDataException">An inconsistency (without the file name).</exception>
    /// <exception cref="IOException">The payload ends early (<see cref="EndOfStreamException"/>) or holds a bad string length.</exception>
    /// <exception cref="FormatException">A string length is not a valid 7-bit encoded integer.</exception>
    internal static LmuForecastEngine ReadPayload(Stream payload)
    {
        using var r = new BinaryReader(payload, System.Text.Encoding.UTF8, leaveOpen: true);
        var fingerprint = Convert.ToHexStringLower(ReadExactly(r, 32));
        var bytes = ReadExactly(r, BinaryArrays.Count(r, 1));
        LmuForecastModel model;
        using (var m = new BinaryReader(new MemoryStream(bytes, writable: false)))
        {
            model = LmuForecastModel.Read(m);
            if (m.BaseStream.Position != m.BaseStream.Length)
            {
                throw new InvalidDataException($"the model has {m.BaseStream.Length - m.BaseStream.Position} trailing bytes.");
            }
        }

        LmuForecastModelValidator.Validate(model);
        // Re-serialised, the model must hash to the recorded fingerprint: the fingerprint then names this exact model.
        if (model.Fingerprint != fingerprint)
        {
            throw new InvalidDataException($"the model does not match the fingerprint {fingerprint} recorded with it.");
        }

        return ReadState(model, r, payload);
    }

    // The state after the model: its sizes are checked against the model before anything is copied.
    private static LmuForecastEngine ReadState(LmuForecastModel model, BinaryReader r, Stream payload)
    {
        var count = r.ReadInt64();
        var raw = BinaryArrays.ReadDoubles(r);
        var fullRing = BinaryArrays.ReadDoubles(r);
        var full = BinaryArrays.ReadDoubles(r);
        var window = BinaryArrays.ReadDoubles(r);
        if (payload.Position != payload.Length)
        {
            throw new InvalidDataException($"{payload.Length - payload.Position} unexpected trailing bytes.");
        }

        long t = model.WindowSize, c = model.Channels, q = model.Network.Layers[0].Order, sliding = Slides(model) ? 1 : 0;
        if (count < 0 || raw?.Length != t * c || fullRing?.Length != sliding * t * c * q || full?.Length != sliding * c * q || window?.Length != sliding * c * q)
        {
            throw new InvalidDataException(
                $"the state ({count} observations; {raw?.Length}, {fullRing?.Length}, {full?.Length}, {window?.Length} values) does not fit the model (window {t}, {c} channels, order {q}).");
        }

        if (!raw.All(double.IsFinite) || !fullRing.All(double.IsFinite) || !full.All(double.IsFinite) || !window.All(double.IsFinite))
        {
            throw new InvalidDataException("the state holds a value that is not finite, which no stream of finite observations produces.");
        }

        var engine = new LmuForecastEngine(model) { _count = count };
        raw.CopyTo(engine._raw, 0);
        fullRing.CopyTo(engine._fullRing, 0);
        full.CopyTo(engine._full, 0);
        window.CopyTo(engine._window, 0);
        engine._last = engine.IsReady ? engine.Predict() : null;
        return engine;
    }

    // " The checkpoint's model has 1 LMU layer; this model has 2." (and window/horizon), or nothing when the shapes agree.
    private static string ShapeDifference(LmuForecastModel found, LmuForecastModel? expected)
    {
        if (expected is null)
        {
            return string.Empty;
        }

        static string Layers(int n) => n == 1 ? "1 LMU layer" : $"{n} LMU layers";
        var parts = new List<string>();
        if (found.Network.Layers.Count != expected.Network.Layers.Count)
        {
            parts.Add($"{Layers(found.Network.Layers.Count)}; this model has {Layers(expected.Network.Layers.Count)}");
        }

        if (found.WindowSize != expected.WindowSize || found.Horizon != expected.Horizon)
        {
            parts.Add($"window {found.WindowSize} and horizon {found.Horizon}; this model has window {expected.WindowSize} and horizon {expected.Horizon}");
        }

        return parts.Count == 0 ? string.Empty : $" The checkpoint's model has {string.Join(", and ", parts)}.";
    }

    private static byte[] ReadExactly(BinaryReader r, int count)
    {
        var bytes = r.ReadBytes(count);
        return bytes.Length == count ? bytes : throw new EndOfStreamException($"the payload ends {count - bytes.Length} bytes early.");
    }
}
