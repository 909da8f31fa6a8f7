using Lmu.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Forecasting;

/// <summary>
/// A fitted LMU forecaster. Scores the window layout (see <see cref="LmuForecastingOptions"/>) into the forecast
/// column (Vector&lt;Single, Horizon&gt;) and the optional bound columns, through ML.NET's OnnxTransformer, so
/// <c>mlContext.Model.Save</c> with the window layout's schema writes an ordinary model zip that
/// <c>mlContext.Model.Load</c> scores bit-identically without libtorch. A model fitted on the series layout also
/// Transforms series rows (each row gains its window and the forecast of what follows it, as
/// <see cref="LmuForecastWindows.Score"/> gives), so it chains in an EstimatorChain; the zip scores windows only, so save
/// it with the window layout's schema (<see cref="LmuModelFile.Save"/> refuses the series schema; ML.NET's own
/// <c>Model.Save</c> cannot tell). <see cref="CreateEngine"/> gives a streaming engine over the same model.
/// </summary>
/// <remarks>
/// The zip <c>mlContext.Model.Save</c> writes holds only ML.NET's own transformers: the ONNX scorer and, since version
/// 0.4.0, a start-of-stream engine carried as a second tiny ONNX graph whose output is dropped at once (scoring never
/// computes it), so a serving process can start streams from the zip alone:
/// <see cref="LmuForecastTimeSeriesEngine.Load{TIn, TOut}(MLContext, string)"/> (typed, SSA-shaped) or <see cref="LmuForecastEngineModel.Load"/>
/// (untyped, one model for many streams). A stream is carried on by the typed engine's
/// <c>CheckPoint(mlContext, path)</c>, which writes such a zip with the stream's state, or by the untyped engine's
/// <c>CheckPoint(path)</c> file, resumed with <see cref="ResumeEngine"/> (this model
/// only) or <see cref="LmuForecastEngine.Load(string)"/> (the checkpoint's own model). Series-layout rows are scored by
/// Transform or <see cref="LmuForecastWindows.Score"/>, the latest window of each series with <see cref="LmuForecastWindows.LastWindows"/>.
/// <para>
/// <see cref="OnnxCarriedTransformer.ExportOnnx"/> / <see cref="OnnxCarriedTransformer.SaveOnnx"/> write the graph the
/// model zip carries (opset 17), one window per run (no batch axis, as ML.NET feeds it), with the scaling inside.
/// Inputs: the window column (<c>LmuForecastingOptions.WindowColumnName</c>, "Window" by default) float
/// [<see cref="LmuForecastModelInfo.WindowSize"/>], oldest value first, and each of <see cref="LmuForecastModelInfo.CovariateColumnNames"/> float
/// [<see cref="LmuForecastModelInfo.WindowSize"/>]. Outputs: the output column (<c>LmuForecastingOptions.OutputColumnName</c>, "Forecast" by default) float [<see cref="LmuForecastModelInfo.Horizon"/>]
/// and, when the model has bounds, <c>LowerBoundColumnName</c> and <c>UpperBoundColumnName</c> float [<see cref="LmuForecastModelInfo.Horizon"/>] each.
/// </para>
/// </remarks>
public sealed class LmuForecastTransformer : OnnxCarriedTransformer
{
    private readonly LmuForecastModel _model;

    internal LmuForecastTransformer(TransformerChain<ITransformer> chain, LmuForecastModel model, LmuForecastModelInfo info)
        : base(chain)
    {
        _model = model;
        Info = info;
    }

    internal LmuForecastModel Model => _model;

    /// <summary>What was trained and how: window, horizon, columns, fingerprint, parameter count, seed, device and the per-epoch history.</summary>
    public LmuForecastModelInfo Info { get; }

    /// <summary>
    /// A new streaming engine at the start of a stream (no observations yet); the same as one started from the saved zip
    /// (<see cref="LmuForecastEngineModel.Load"/>). Its <see cref="LmuForecastEngine.CheckPoint"/> file carries the stream on.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The transformer is disposed (engines made before stay usable: they hold
    /// managed state only).</exception>
    public LmuForecastEngine CreateEngine()
    {
        // A disposed transformer throws when used, as its README promises (CreateEngine went on; found by QA).
        Guard.ThrowIfClosed();
        return new(_model);
    }

    /// <summary>Resumes a stream of this model from a <see cref="LmuForecastEngine.CheckPoint"/> file.</summary>
    /// <exception cref="InvalidDataException">
    /// The checkpoint was written by another model (its fingerprint differs from <see cref="LmuForecastModelInfo.ModelFingerprint"/>;
    /// the message also names a difference in shape, such as the number of LMU layers), or is not a valid checkpoint; the
    /// message names the file.
    /// </exception>
    public LmuForecastEngine ResumeEngine(string path)
    {
        Guard.ThrowIfClosed();
        return LmuForecastEngine.Load(path, Info.ModelFingerprint, _model);
    }

    // The carried graph as it is: its input and output names are already the plain column names.
    internal override byte[] StandaloneOnnx() => _model.ToOnnx();

    /// <summary>
    /// Series-layout rows of a model fitted on them read as windows (<see cref="SeriesWindowsView"/>): each row's forecast
    /// is of the values that follow it, as <see cref="LmuForecastWindows.Score"/> gives, so the forecaster can sit in an
    /// EstimatorChain (which transforms after the last Fit) and Transform its own training data.
    /// </summary>
    private protected override IDataView PrepareInput(IDataView input) =>
        ReadsSeries(input.Schema)
            ? new SeriesWindowsView(input, Info.SeriesColumnName!, SeriesId(input.Schema), _model.CovariateColumns, _model.WindowColumn, _model.WindowSize)
            : input;

    private protected override DataViewSchema PrepareSchema(DataViewSchema schema)
    {
        if (!ReadsSeries(schema))
        {
            return schema;
        }

        _ = SeriesId(schema);
        return SeriesWindowsView.WindowSchema(schema, _model.CovariateColumns, _model.WindowColumn, _model.WindowSize);
    }

    /// <summary>
    /// Whether <paramref name="schema"/> is the series layout this model was fitted on (scored as windows by Transform
    /// only): it has the series column and no window column of the model's shape. Why the shape: any column named as
    /// the window (a text "Window" of the user's own) switched the rows to the window layout, and Transform refused them
    /// naming a window column the user never set (types QA).
    /// </summary>
    internal bool ReadsSeries(DataViewSchema schema) =>
        Info.SeriesColumnName is { } series && schema.GetColumnOrNull(series) is { IsHidden: false }
        && schema.GetColumnOrNull(_model.WindowColumn) is not { IsHidden: false, Type: VectorDataViewType { ItemType: NumberDataViewType, Size: > 0 } };

    /// <summary>
    /// The trained id column, which series-layout data must hold. Why refused without it: the rows were read as one
    /// series, so data whose id column was named otherwise ("id", "SeriesId") was scored with windows running across
    /// series boundaries, silently (types QA: 22 of 300 rows wrong). LmuForecastWindows.Score reads rows without an id as
    /// one series when asked to.
    /// </summary>
    private string? SeriesId(DataViewSchema schema)
    {
        if (Info.SeriesIdColumnName is not { } id)
        {
            return null;
        }

        if (schema.GetColumnOrNull(id) is { IsHidden: false })
        {
            return id;
        }

        throw new ArgumentException(
            $"The series id column '{id}' this forecaster was fitted with is not in the data, so its rows cannot be told apart by series; its columns are: " +
            $"{string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => $"{c.Name} ({c.Type})"))}. Name the id column '{id}' " +
            $"(mlContext.Transforms.CopyColumns(\"{id}\", ...)), or score rows of one series with LmuForecastWindows.Score(model, data, \"{Info.SeriesColumnName}\").");
    }

    // A clear message naming the missing covariate or window column before ONNX Runtime's generic one.
    private protected override void CheckInputSchema(DataViewSchema schema)
    {
        if (ReadsSeries(schema))
        {
            // Only a PredictionEngine gets here with series rows (Transform reads them as windows first): one row alone has no window.
            throw new ArgumentException(
                $"A PredictionEngine scores one row at a time, so it needs the window layout: a '{_model.WindowColumn}' column of Vector<Single, {_model.WindowSize}>" +
                (_model.CovariateColumns.Count > 0 ? $" and the covariate windows ({string.Join(", ", _model.CovariateColumns)})" : string.Empty) +
                $". For series-layout rows ('{Info.SeriesColumnName}', one value per row) use Transform or LmuForecastWindows.Score, or CreateTimeSeriesEngine to feed one observation at a time.");
        }

        ForecastDataReader.Column(schema, _model.WindowColumn, "window", NumberDataViewType.Single, _model.WindowSize);
        foreach (var c in _model.CovariateColumns)
        {
            ForecastDataReader.Column(schema, c, "covariate window", NumberDataViewType.Single, _model.WindowSize);
        }
    }
}
