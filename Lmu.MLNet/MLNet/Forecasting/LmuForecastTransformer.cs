using Lmu.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Forecasting;

/// <summary>
/// A fitted LMU forecaster. Scores the window layout (see <see cref="LmuForecastingOptions"/>) into the forecast
/// column (Vector&lt;Single, Horizon&gt;) and the optional bound columns, through ML.NET's OnnxTransformer, so
/// <c>mlContext.Model.Save</c> writes an ordinary model zip that <c>mlContext.Model.Load</c> scores identically
/// without libtorch, bit-identically. <see cref="CreateEngine"/> gives a streaming engine over the same model.
/// </summary>
/// <remarks>
/// The zip <c>mlContext.Model.Save</c> writes holds only ML.NET's own transformers, from which the engine cannot be
/// rebuilt. To stream in another process, either use the SSA-shaped typed engine
/// (<c>CreateTimeSeriesEngine&lt;TIn, TOut&gt;(mlContext)</c>), whose <c>CheckPoint(mlContext, path)</c> writes a model zip
/// that also carries the stream (<see cref="LmuForecastTimeSeriesEngine.Load{TIn, TOut}"/>), or write the untyped engine
/// beside the zip with <c>CreateEngine().CheckPoint(path)</c> and resume it with <see cref="ResumeEngine"/> (this model
/// only) or <see cref="LmuForecastEngine.Load(string)"/> (the checkpoint's own model). Series-layout rows are scored with
/// <see cref="LmuForecastWindows.Score"/>, the latest window of each series with <see cref="LmuForecastWindows.LastWindows"/>.
/// <para>
/// <see cref="OnnxCarriedTransformer.ExportOnnx"/> / <see cref="OnnxCarriedTransformer.SaveOnnx"/> write the graph the
/// model zip carries (opset 17), one window per run (no batch axis, as ML.NET feeds it), with the scaling inside.
/// Inputs: the window column (<c>LmuForecastingOptions.WindowColumnName</c>, "Window" by default) float
/// [<see cref="WindowSize"/>], oldest value first, and each of <see cref="CovariateColumnNames"/> float
/// [<see cref="WindowSize"/>]. Outputs: the output column (<c>LmuForecastingOptions.OutputColumnName</c>, "Forecast" by default) float [<see cref="Horizon"/>]
/// and, when the model has bounds, <c>LowerBoundColumnName</c> and <c>UpperBoundColumnName</c> float [<see cref="Horizon"/>] each.
/// </para>
/// </remarks>
public sealed class LmuForecastTransformer : OnnxCarriedTransformer
{
    private readonly LmuForecastModel _model;

    internal LmuForecastTransformer(
        TransformerChain<ITransformer> chain, LmuForecastModel model, LmuTrainingResult training, long parameterCount, int seed, string device)
        : base(chain)
    {
        _model = model;
        Training = training;
        ParameterCount = parameterCount;
        Seed = seed;
        Device = device;
    }

    /// <summary>The series column Fit read (series layout), or null (window layout or a model made otherwise).</summary>
    internal string? SeriesColumnName { get; init; }

    internal LmuForecastModel Model => _model;

    /// <summary>Window length T.</summary>
    public int WindowSize => _model.WindowSize;

    /// <summary>Values per forecast.</summary>
    public int Horizon => _model.Horizon;

    /// <summary>Covariate window columns read at scoring, in channel order.</summary>
    public IReadOnlyList<string> CovariateColumnNames => _model.CovariateColumns;

    /// <summary>Coverage of the bound columns (meaningful when the model has bounds).</summary>
    public double ConfidenceLevel => _model.ConfidenceLevel;

    /// <summary>Epoch history of the training run.</summary>
    public LmuTrainingResult Training { get; }

    /// <summary>Trainable parameters of the network.</summary>
    public long ParameterCount { get; }

    /// <summary>The seed training used: LmuForecastingOptions.Training.Seed, or the value drawn from the MLContext's seed stream.</summary>
    public int Seed { get; }

    /// <summary>The torch device training ran on ("cpu", "cuda:0", ...), after any FallbackToCpu.</summary>
    public string Device { get; }

    /// <summary>
    /// A new streaming engine at the start of a stream (no observations yet). Its <see cref="LmuForecastEngine.CheckPoint"/>
    /// file is what a serving process needs to stream (the model zip is not enough).
    /// </summary>
    public LmuForecastEngine CreateEngine() => new(_model);

    /// <summary>
    /// SHA-256 (64 lowercase hex digits) of the forecast model (weights, sizes, scaling, bound offsets, column names):
    /// the <see cref="LmuForecastEngine.ModelFingerprint"/> of this transformer's engines and of their checkpoints.
    /// </summary>
    public string ModelFingerprint => _model.Fingerprint;

    /// <summary>Resumes a stream of this model from a <see cref="LmuForecastEngine.CheckPoint"/> file.</summary>
    /// <exception cref="InvalidDataException">
    /// The checkpoint was written by another model (its fingerprint differs from <see cref="ModelFingerprint"/>; the
    /// message also names a difference in shape, such as the number of LMU layers), or is not a valid checkpoint; the
    /// message names the file.
    /// </exception>
    public LmuForecastEngine ResumeEngine(string path) => LmuForecastEngine.Load(path, ModelFingerprint, _model);

    // The carried graph as it is: its input and output names are already the plain column names.
    internal override byte[] StandaloneOnnx() => _model.ToOnnx();

    // A clear message naming the missing covariate or window column before ONNX Runtime's generic one.
    private protected override void CheckInputSchema(DataViewSchema schema)
    {
        ForecastDataReader.Column(schema, _model.WindowColumn, "window", NumberDataViewType.Single, _model.WindowSize);
        foreach (var c in _model.CovariateColumns)
        {
            ForecastDataReader.Column(schema, c, "covariate window", NumberDataViewType.Single, _model.WindowSize);
        }
    }
}
