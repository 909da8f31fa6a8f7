using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Forecasting;

/// <summary>
/// The typed streaming forecaster, shaped like ML.NET's <c>TimeSeriesPredictionEngine&lt;TIn, TOut&gt;</c> (what
/// <c>CreateTimeSeriesEngine</c> gives for ForecastBySsa): <see cref="Predict(TIn)"/> feeds one observation and returns the
/// forecast of what follows; <see cref="CheckPoint"/> writes a model zip that <c>mlContext.Model.Load</c> reads (it
/// scores the window layout like the fitted model) and that <see cref="LmuForecastTimeSeriesEngine.Load{TIn, TOut}(MLContext, string)"/>
/// resumes, in any process, bit-identically. <see cref="Engine"/> is the untyped <see cref="LmuForecastEngine"/> it
/// runs on (the fast path: no reflection, spans of floats). Not thread-safe (one engine per stream).
/// </summary>
/// <remarks>
/// TIn: a public field or property of type float for the series column and one per covariate, found by name or by
/// <see cref="ColumnNameAttribute"/>. TOut (with a public parameterless constructor): a settable float[] member for the
/// model's forecast column, and optionally for its lower/upper bound columns. Unlike SSA, which starts from the history
/// it was trained on, a stream starts empty: until <see cref="WindowSize"/> observations have been fed (see
/// <see cref="IsReady"/>), <see cref="Predict(TIn)"/> returns forecasts and bounds of NaN.
/// </remarks>
public sealed class LmuForecastTimeSeriesEngine<TIn, TOut>
    where TIn : class
    where TOut : class, new()
{
    private readonly Func<TIn, float> _series;
    private readonly Func<TIn, float>[] _covariates;
    private readonly Action<TOut, float[]> _forecast;
    private readonly Action<TOut, float[]>? _lower;
    private readonly Action<TOut, float[]>? _upper;

    internal LmuForecastTimeSeriesEngine(LmuForecastEngine engine, string seriesColumn)
    {
        Engine = engine;
        SeriesColumnName = seriesColumn;
        var model = engine.Model;
        if (model.CovariateColumns.Contains(seriesColumn))
        {
            // The member would be read twice, as the series and as a covariate (regression QA: a covariate named as the
            // series column was taken without a word, and every forecast was wrong).
            throw new ArgumentException(
                $"The series column '{seriesColumn}' is one of the model's covariates ({string.Join(", ", model.CovariateColumns)}); name the TIn member that holds the series value.",
                "seriesColumnName");
        }

        _series = Reader(seriesColumn, "series");
        _covariates = model.CovariateColumns.Select(c => Reader(c, "covariate")).ToArray();
        _forecast = Writer(model.ForecastColumn, "forecast", required: true)!;
        if (model.HasBounds)
        {
            _lower = Writer(model.LowerBoundColumn!, "lower bound", required: false);
            _upper = Writer(model.UpperBoundColumn!, "upper bound", required: false);
        }
    }

    /// <summary>The untyped engine this one feeds (shares its state): the fast path, and its own <see cref="LmuForecastEngine.CheckPoint"/> file.</summary>
    public LmuForecastEngine Engine { get; }

    /// <summary>The TIn member (column name) read as the series value.</summary>
    public string SeriesColumnName { get; }

    /// <summary>Window length T: forecasts are NaN until this many observations have been fed.</summary>
    public int WindowSize => Engine.WindowSize;

    /// <summary>Values per forecast (the most <see cref="Predict(TIn, int)"/> accepts).</summary>
    public int Horizon => Engine.Horizon;

    /// <summary>Observations fed so far, including those before a checkpoint.</summary>
    public long ObservationCount => Engine.ObservationCount;

    /// <summary>Whether forecasts are available (at least <see cref="WindowSize"/> observations fed).</summary>
    public bool IsReady => Engine.IsReady;

    /// <summary>SHA-256 of the forecast model (see <see cref="LmuForecastEngine.ModelFingerprint"/>).</summary>
    public string ModelFingerprint => Engine.ModelFingerprint;

    /// <summary>Feeds <paramref name="observation"/> and returns the forecast of the next <see cref="Horizon"/> values (NaN before <see cref="IsReady"/>).</summary>
    /// <exception cref="ArgumentException">A non-finite value; the state is unchanged.</exception>
    public TOut Predict(TIn observation) => Predict(observation, Horizon);

    /// <summary>Feeds <paramref name="observation"/> and returns the first <paramref name="horizon"/> steps of the forecast (and bounds).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="horizon"/> is below 1 or above the model's <see cref="Horizon"/>; nothing is fed.</exception>
    /// <exception cref="ArgumentException">A non-finite value; the state is unchanged.</exception>
    public TOut Predict(TIn observation, int horizon)
    {
        ArgumentNullException.ThrowIfNull(observation);
        if (horizon < 1 || horizon > Horizon)
        {
            throw new ArgumentOutOfRangeException(
                nameof(horizon), $"The horizon asked for ({horizon}) must be between 1 and the model's Horizon ({Horizon}); the model forecasts {Horizon} steps at once.");
        }

        var value = _series(observation);
        // A buffer per call: a shared one was written outside the engine's concurrent-call check, so of two threads
        // sharing a typed engine one could record the other's covariates without an error (found by review).
        Span<float> covariates = _covariates.Length <= 64 ? stackalloc float[_covariates.Length] : new float[_covariates.Length];
        for (var c = 0; c < _covariates.Length; c++)
        {
            covariates[c] = _covariates[c](observation);
        }

        var forecast = Engine.Observe(value, covariates);
        var output = new TOut();
        _forecast(output, Take(forecast?.Forecast, horizon));
        _lower?.Invoke(output, Take(forecast?.LowerBound, horizon));
        _upper?.Invoke(output, Take(forecast?.UpperBound, horizon));
        return output;
    }

    /// <summary>
    /// Writes the model and the stream's state to <paramref name="modelPath"/> as an ML.NET model zip (as SSA's
    /// <c>CheckPoint(env, modelPath)</c>): <c>mlContext.Model.Load</c> reads it and scores the window layout exactly as the
    /// fitted model, and <see cref="LmuForecastTimeSeriesEngine.Load{TIn, TOut}(MLContext, string)"/> (or <see cref="LmuForecastTimeSeriesEngine.FromLoadedModel{TIn, TOut}(MLContext, ITransformer, DataViewSchema)"/>
    /// on the loaded chain) resumes the stream bit-identically. Written beside the path and moved over it.
    /// </summary>
    public void CheckPoint(MLContext mlContext, string modelPath)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentException.ThrowIfNullOrWhiteSpace(modelPath);
        ForecastEngineStateOnnx.Save(mlContext, Engine, SeriesColumnName, modelPath);
    }

    // Always a copy: the whole horizon was handed out as the engine's own array, so a caller writing into its output
    // changed the engine's Current forecast (found by QA).
    private static float[] Take(float[]? values, int horizon) =>
        values is null ? Enumerable.Repeat(float.NaN, horizon).ToArray() : values[..horizon];

    private static Func<TIn, float> Reader(string column, string role)
    {
        var member = Find(typeof(TIn), column);
        var type = member switch { FieldInfo f => f.FieldType, PropertyInfo p => p.PropertyType, _ => null };
        if (member is null || type != typeof(float) || member is PropertyInfo { CanRead: false })
        {
            throw new ArgumentException(
                $"TIn ({typeof(TIn).Name}) needs a public readable field or property of type Single (float) for the {role} column '{column}' " +
                $"(named '{column}' or marked [ColumnName(\"{column}\")])" + (member is null ? "; it has none." : $"; '{member.Name}' is {type?.Name}."),
                nameof(TIn));
        }

        return member is FieldInfo field ? o => (float)field.GetValue(o)! : o => (float)((PropertyInfo)member).GetValue(o)!;
    }

    private static Action<TOut, float[]>? Writer(string column, string role, bool required)
    {
        var member = Find(typeof(TOut), column);
        if (member is null && !required)
        {
            return null;
        }

        var type = member switch { FieldInfo f => f.FieldType, PropertyInfo p => p.PropertyType, _ => null };
        if (member is null || type != typeof(float[]) || member is PropertyInfo { CanWrite: false } || member is FieldInfo { IsInitOnly: true })
        {
            throw new ArgumentException(
                $"TOut ({typeof(TOut).Name}) needs a public settable field or property of type Single[] (float[]) for the {role} column '{column}' " +
                $"(named '{column}' or marked [ColumnName(\"{column}\")])" + (member is null ? "; it has none." : $"; '{member.Name}' is {type?.Name}{(type == typeof(float[]) ? " but not settable" : string.Empty)}."),
                nameof(TOut));
        }

        return member is FieldInfo field ? (o, v) => field.SetValue(o, v) : (o, v) => ((PropertyInfo)member).SetValue(o, v);
    }

    // ML.NET's rule: the ColumnName attribute's name, else the member's name (case-sensitive).
    private static MemberInfo? Find(Type type, string column)
    {
        var members = type.GetFields(BindingFlags.Public | BindingFlags.Instance).Cast<MemberInfo>()
            .Concat(type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0));
        return members.FirstOrDefault(m => ColumnName(m) == column)
            ?? members.FirstOrDefault(m => m.Name == column && ColumnName(m) is null);
    }

    // The attribute's name is internal to ML.NET; its constructor argument is public metadata.
    private static string? ColumnName(MemberInfo m) =>
        m.GetCustomAttributesData().FirstOrDefault(a => a.AttributeType == typeof(ColumnNameAttribute))?.ConstructorArguments[0].Value as string;
}

/// <summary>Creating and resuming <see cref="LmuForecastTimeSeriesEngine{TIn, TOut}"/>: the SSA-shaped streaming API.</summary>
public static class LmuForecastTimeSeriesEngine
{
    /// <summary>
    /// A typed streaming engine at the start of a stream (like <c>model.CreateTimeSeriesEngine&lt;TIn, TOut&gt;(mlContext)</c> for SSA).
    /// </summary>
    /// <param name="model">The fitted forecaster.</param>
    /// <param name="mlContext">The context (kept for the SSA shape; the engine needs nothing from it).</param>
    /// <param name="seriesColumnName">The TIn member read as the series value; default the series column Fit read.</param>
    /// <exception cref="ArgumentException">TIn or TOut lacks a column (the message names the member and its expected type), or no series column is known.</exception>
    public static LmuForecastTimeSeriesEngine<TIn, TOut> CreateTimeSeriesEngine<TIn, TOut>(
        this LmuForecastTransformer model, MLContext mlContext, string? seriesColumnName = null)
        where TIn : class
        where TOut : class, new()
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(mlContext);
        var series = seriesColumnName ?? model.Info.SeriesColumnName ?? throw new ArgumentException(
            "The forecaster was not fitted on the series layout, so it has no series column: pass seriesColumnName (the TIn member holding the series value).",
            nameof(seriesColumnName));
        return new LmuForecastTimeSeriesEngine<TIn, TOut>(model.CreateEngine(), series);
    }

    /// <summary>
    /// Resumes the stream saved by <see cref="LmuForecastTimeSeriesEngine{TIn, TOut}.CheckPoint"/> at <paramref name="modelPath"/>,
    /// or starts one from a forecaster's zip written by <c>mlContext.Model.Save</c> (a forecaster fitted with version
    /// 0.4.0 or later carries a start-of-stream engine), reading the series column the zip records.
    /// </summary>
    /// <param name="mlContext">The context whose TempFilePath receives ML.NET's copies of the graphs while the zip is read.</param>
    /// <param name="modelPath">The zip.</param>
    /// <exception cref="FileNotFoundException">The file does not exist, or is a folder.</exception>
    /// <exception cref="DirectoryNotFoundException">Its folder does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a model zip (or fails its size and integrity checks), or is a model zip without an engine state (e.g. one saved from a forecaster fitted before 0.4.0); the message names the file.</exception>
    /// <exception cref="ArgumentException">TIn or TOut lacks a column, or the zip records no series column (a model fitted on the window layout: use the overload that names it).</exception>
    public static LmuForecastTimeSeriesEngine<TIn, TOut> Load<TIn, TOut>(MLContext mlContext, string modelPath)
        where TIn : class
        where TOut : class, new()
        => LoadFile<TIn, TOut>(mlContext, modelPath, null);

    /// <summary>As <see cref="Load{TIn, TOut}(MLContext, string)"/>, reading <paramref name="seriesColumnName"/> (a TIn member) as the series value.</summary>
    /// <param name="mlContext">The context whose TempFilePath receives ML.NET's copies of the graphs while the zip is read.</param>
    /// <param name="modelPath">The zip.</param>
    /// <param name="seriesColumnName">The TIn member read as the series value (required for a model fitted on the window layout, which records none).</param>
    /// <exception cref="FileNotFoundException">The file does not exist, or is a folder.</exception>
    /// <exception cref="DirectoryNotFoundException">Its folder does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a model zip, or is one without an engine state; the message names the file.</exception>
    /// <exception cref="ArgumentException">TIn or TOut lacks a column.</exception>
    public static LmuForecastTimeSeriesEngine<TIn, TOut> Load<TIn, TOut>(MLContext mlContext, string modelPath, string seriesColumnName)
        where TIn : class
        where TOut : class, new()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(seriesColumnName);
        return LoadFile<TIn, TOut>(mlContext, modelPath, seriesColumnName);
    }

    /// <summary>
    /// Resumes the stream carried by a model loaded with <c>mlContext.Model.Load(path, out inputSchema)</c> from a
    /// <see cref="LmuForecastTimeSeriesEngine{TIn, TOut}.CheckPoint"/> zip, or starts one from a forecaster's own zip
    /// (fitted with 0.4.0 or later). The engine copies the state: the loaded model stays usable (and the caller's to dispose).
    /// </summary>
    /// <exception cref="InvalidDataException">The model carries no engine state (one saved from a forecaster fitted before 0.4.0, or not a forecaster), or a damaged one; or <paramref name="inputSchema"/> is null (a zip saved without one: the file-based Load reads it).</exception>
    /// <exception cref="ObjectDisposedException">The loaded model was disposed (one from <see cref="LmuModelFile.Load(MLContext, string, out DataViewSchema)"/>).</exception>
    /// <exception cref="ArgumentException">TIn or TOut lacks a column, or the model records no series column (use the overload that names it).</exception>
    public static LmuForecastTimeSeriesEngine<TIn, TOut> FromLoadedModel<TIn, TOut>(MLContext mlContext, ITransformer loadedModel, DataViewSchema inputSchema)
        where TIn : class
        where TOut : class, new()
        => FromLoadedModelCore<TIn, TOut>(mlContext, loadedModel, inputSchema, null);

    /// <summary>As <see cref="FromLoadedModel{TIn, TOut}(MLContext, ITransformer, DataViewSchema)"/>, reading <paramref name="seriesColumnName"/> (a TIn member) as the series value.</summary>
    /// <param name="mlContext">The context (kept for the SSA shape).</param>
    /// <param name="loadedModel">The loaded chain.</param>
    /// <param name="inputSchema">The input schema Model.Load gave.</param>
    /// <param name="seriesColumnName">The TIn member read as the series value.</param>
    /// <exception cref="InvalidDataException">The model carries no engine state, or a damaged one.</exception>
    /// <exception cref="ObjectDisposedException">The loaded model was disposed.</exception>
    /// <exception cref="ArgumentException">TIn or TOut lacks a column.</exception>
    public static LmuForecastTimeSeriesEngine<TIn, TOut> FromLoadedModel<TIn, TOut>(MLContext mlContext, ITransformer loadedModel, DataViewSchema inputSchema, string seriesColumnName)
        where TIn : class
        where TOut : class, new()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(seriesColumnName);
        return FromLoadedModelCore<TIn, TOut>(mlContext, loadedModel, inputSchema, seriesColumnName);
    }

    private static LmuForecastTimeSeriesEngine<TIn, TOut> FromLoadedModelCore<TIn, TOut>(MLContext mlContext, ITransformer loadedModel, DataViewSchema? inputSchema, string? seriesColumnName)
        where TIn : class
        where TOut : class, new()
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(loadedModel);
        // A null schema is what Model.Load gives for a zip saved without one: refused with what to do instead.
        return FromLoaded<TIn, TOut>(loadedModel, inputSchema, "the loaded model", seriesColumnName);
    }

    private static LmuForecastTimeSeriesEngine<TIn, TOut> LoadFile<TIn, TOut>(MLContext mlContext, string modelPath, string? seriesColumnName)
        where TIn : class
        where TOut : class, new()
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentException.ThrowIfNullOrWhiteSpace(modelPath);
        var loaded = OnnxCarrier.Load(mlContext, modelPath, out var schema);
        try
        {
            return FromLoaded<TIn, TOut>(loaded, schema, $"'{modelPath}'", seriesColumnName, modelPath);
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }
    }

    /// <summary>
    /// The untyped engine and series column carried by a CheckPoint zip, or null when the zip is a model without an
    /// engine state (for hosts that stream untyped values, e.g. the Samples' forecast-stream).
    /// </summary>
    /// <exception cref="InvalidDataException">Not a model zip, or a damaged state; the message names the file.</exception>
    internal static (LmuForecastEngine Engine, string? SeriesColumn)? TryLoadEngine(MLContext mlContext, string modelPath)
    {
        var loaded = OnnxCarrier.Load(mlContext, modelPath, out var schema);
        try
        {
            return ForecastEngineStateOnnx.Read(loaded, schema, $"'{modelPath}'", modelPath);
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }
    }

    private static LmuForecastTimeSeriesEngine<TIn, TOut> FromLoaded<TIn, TOut>(ITransformer loaded, DataViewSchema? schema, string source, string? seriesColumn, string? path = null)
        where TIn : class
        where TOut : class, new()
    {
        var state = ForecastEngineStateOnnx.Read(loaded, schema, source, path) ?? throw new InvalidDataException(NoState(source));
        var series = seriesColumn ?? state.SeriesColumn ?? throw new ArgumentException(
            $"{source} holds a forecaster fitted on the window layout, which records no series column: name the TIn member holding the series value (the overload with seriesColumnName).",
            "seriesColumnName");
        return new LmuForecastTimeSeriesEngine<TIn, TOut>(state.Engine, series);
    }

    /// <summary>What a model zip without an engine state is told (the typed and untyped loads and the CLI say the same).</summary>
    internal static string NoState(string source) =>
        $"{source} carries no forecast engine state: it is not a forecaster, or a forecaster fitted before Lmu.MLNet 0.4.0, whose zip held only its " +
        "ONNX scorer. Zips saved from forecasters fitted since (and those written by the typed engine's CheckPoint(mlContext, path)) start or resume " +
        "a stream; for an older one, start the stream from the fitted transformer's CreateTimeSeriesEngine or CreateEngine, or fit the model again.";
}
