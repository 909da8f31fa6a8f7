using Microsoft.ML;

namespace Lmu.MLNet.Forecasting;

/// <summary>
/// A streaming forecast model loaded once and shared by the engines of many series (one per series), for hosts that
/// keep many streams: it creates engines and resumes them from <see cref="LmuForecastEngine.SaveState"/> bytes.
/// Immutable and thread-safe; it holds no native resource, so it needs no disposing. The engines it makes share the
/// model's weights and precomputed tables; each holds only its stream's state.
/// </summary>
public sealed class LmuForecastEngineModel
{
    private readonly LmuForecastModel _model;

    internal LmuForecastEngineModel(LmuForecastModel model) => _model = model;

    /// <summary>SHA-256 of the model (see <see cref="LmuForecastEngine.ModelFingerprint"/>).</summary>
    public string Fingerprint => _model.Fingerprint;

    /// <summary>Window length T: an engine forecasts once it has been fed this many observations.</summary>
    public int WindowSize => _model.WindowSize;

    /// <summary>Values per forecast.</summary>
    public int Horizon => _model.Horizon;

    /// <summary>Covariates expected with each observation, in this order.</summary>
    public IReadOnlyList<string> CovariateNames => _model.CovariateColumns;

    /// <summary>Whether forecasts come with lower and upper bounds.</summary>
    public bool HasBounds => _model.HasBounds;

    /// <summary>
    /// Loads the model of an engine checkpoint file (<see cref="LmuForecastEngine.CheckPoint"/>), of a model zip written
    /// by the typed engine's <c>CheckPoint(mlContext, path)</c>, or of a forecaster's zip written by <c>mlContext.Model.Save</c>
    /// (fitted with 0.4.0 or later); the stream state any of them carries is not used.
    /// </summary>
    /// <exception cref="InvalidDataException">Not a checkpoint nor a zip carrying an engine state (a forecaster fitted before 0.4.0), or a damaged one; the message names the file.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist, or is a folder.</exception>
    public static LmuForecastEngineModel Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        EmptyModelFile.Refuse(path, "The forecast model", "pass an engine checkpoint or a model zip carrying an engine");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The forecast model '{path}' does not exist.", path);
        }

        if (IsZip(path))
        {
            var carried = LmuForecastTimeSeriesEngine.TryLoadEngine(new MLContext(), path)
                ?? throw new InvalidDataException(LmuForecastTimeSeriesEngine.NoState($"'{path}'"));
            return new LmuForecastEngineModel(carried.Engine.Model);
        }

        return new LmuForecastEngineModel(LmuForecastEngine.Load(path).Model);
    }

    /// <summary>A new engine at the start of a stream.</summary>
    public LmuForecastEngine CreateEngine() => new(_model);

    /// <summary>Resumes a stream of this model from <see cref="LmuForecastEngine.SaveState"/> bytes, bit-identically.</summary>
    /// <exception cref="InvalidDataException">
    /// The bytes are damaged (their checksum is checked first), or hold the state of another model: a state is never
    /// applied to a model other than the one that wrote it (the message names both fingerprints).
    /// </exception>
    public LmuForecastEngine ResumeEngine(ReadOnlySpan<byte> state) => LmuForecastEngine.ResumeState(_model, state);

    private static bool IsZip(string path)
    {
        Span<byte> head = stackalloc byte[4];
        using var stream = File.OpenRead(path);
        return stream.Read(head) == 4 && head.SequenceEqual("PK\u0003\u0004"u8);
    }
}
