namespace Lmu.MLNet.Orleans;

/// <summary>
/// What a series grain persists through its storage provider after every call that applied readings: the engine's
/// checked state bytes (<c>LmuForecastEngine.SaveState</c>: header, SHA-256, model fingerprint, state) and the number
/// of the last reading they include, written together in one storage write, so the state and the number never disagree.
/// </summary>
[GenerateSerializer, Alias("Lmu.SeriesForecastState")]
public sealed class SeriesForecastState
{
    /// <summary>Number of the last reading applied; 0 before the first.</summary>
    [Id(0)]
    public long LastSequence { get; set; }

    /// <summary>Version of the model that wrote <see cref="EngineState"/>; 0 before the first reading.</summary>
    [Id(1)]
    public int ModelVersion { get; set; }

    /// <summary>That model's fingerprint (also inside <see cref="EngineState"/>, which is checked against the model on resume).</summary>
    [Id(2)]
    public string ModelFingerprint { get; set; } = string.Empty;

    /// <summary>The engine's <c>SaveState()</c> bytes, or null before the first reading.</summary>
    [Id(3)]
    public byte[]? EngineState { get; set; }
}
