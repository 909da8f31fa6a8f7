using Lmu.MLNet.Scoring;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet;

/// <summary>
/// Base of the fitted LMU transformers: each holds a chain of ML.NET's own transformers (an OnnxTransformer scoring
/// the graph we wrote, plus built-in post-processing) and delegates to it, checking the input schema first so errors
/// name our columns instead of ONNX Runtime's inputs. Saving writes that chain, so <c>mlContext.Model.Load</c> returns
/// a plain <c>TransformerChain&lt;ITransformer&gt;</c> that scores with the same engine and needs no libtorch.
/// </summary>
public abstract class OnnxCarriedTransformer : ITransformer, IDisposable
{
    // The chain behind the same guard as a loaded model's ONNX scorers (counted calls, release after the last one).
    private readonly GuardedTransformer _chain;

    private protected OnnxCarriedTransformer(TransformerChain<ITransformer> chain) => _chain = new GuardedTransformer(chain, GetType().Name);

    /// <summary>The guard around the chain's ONNX Runtime sessions (tests).</summary>
    internal ScoringGuard Guard => _chain.Guard;

    /// <inheritdoc />
    public bool IsRowToRowMapper => _chain.IsRowToRowMapper;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        Guard.ThrowIfClosed();
        var prepared = PrepareSchema(inputSchema);
        CheckInputSchema(prepared);
        return _chain.GetOutputSchema(prepared);
    }

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        Guard.ThrowIfClosed();
        CheckInputSchema(inputSchema);
        var mapper = _chain.GetRowToRowMapper(inputSchema);
        return LengthRule is { } rule ? new CheckedMapper(mapper, rule) : mapper;
    }

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        Guard.ThrowIfClosed();
        var prepared = PrepareInput(input);
        CheckInputSchema(prepared.Schema);
        return _chain.Transform(LengthRule is { } rule ? new CheckedView(prepared, rule) : prepared);
    }

    /// <summary>
    /// Writes the fitted model as a standalone ONNX model (opset 17, plus ai.onnx.ml where the model names classes) for
    /// use outside ML.NET, e.g. with Microsoft.ML.OnnxRuntime's InferenceSession. Each transformer's remarks list its
    /// inputs and outputs (names, element types, shapes).
    /// </summary>
    /// <remarks>
    /// The model saved by <c>mlContext.Model.Save</c> already carries an ONNX graph, but inside ML.NET's zip format;
    /// this writes one that needs neither ML.NET nor this library.
    /// </remarks>
    public void SaveOnnx(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Guard.ThrowIfClosed();
        stream.Write(StandaloneOnnx());
    }

    /// <summary>
    /// Writes <see cref="SaveOnnx(Stream)"/>'s model to <paramref name="path"/>, replacing a file there only once the new
    /// one is complete: a write that fails (a full disk) leaves the old file as it was and no partial one.
    /// </summary>
    public void ExportOnnx(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Guard.ThrowIfClosed();
        var bytes = StandaloneOnnx();
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    /// <summary>Saves ML.NET's own chain, so loading never needs this type.</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) => ((ICanSaveModel)_chain).Save(ctx);

    /// <summary>
    /// Releases the ONNX Runtime session once no call is running in it. Later calls of <c>Transform</c>,
    /// <c>GetRowToRowMapper</c>, <c>SaveOnnx</c> or <c>ExportOnnx</c>, of a PredictionEngine created before, and new
    /// cursors over an earlier <c>Transform</c>'s output throw <see cref="ObjectDisposedException"/>; calls running on
    /// other threads finish first, and cursors already open read to their end (the session is released when the last
    /// one is disposed). A PredictionEngine created with ML.NET's default <c>OwnsTransformer = true</c>
    /// disposes the model with itself: engines that share a model need <c>OwnsTransformer = false</c>.
    /// </summary>
    public void Dispose()
    {
        _chain.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// The length column's rule when the model reads one (checked here, after <see cref="CheckInputSchema"/> found the
    /// column): every row's length must be a whole number from 1 to the model's sequence length.
    /// </summary>
    private protected virtual SequenceLengthRule? LengthRule => null;

    /// <summary>The data <c>Transform</c> scores: <paramref name="input"/> itself, or a view that adapts it (a padded VarVector).</summary>
    private protected virtual IDataView PrepareInput(IDataView input) => input;

    /// <summary>The schema of <see cref="PrepareInput"/>'s view of data with <paramref name="schema"/>.</summary>
    private protected virtual DataViewSchema PrepareSchema(DataViewSchema schema) => schema;

    /// <summary>Throws a clear exception (column, expected, actual) when <paramref name="schema"/> cannot be scored.</summary>
    private protected abstract void CheckInputSchema(DataViewSchema schema);

    /// <summary>The bytes <see cref="SaveOnnx(Stream)"/> writes (built on demand: the chain's copy is not reachable through ML.NET's public API).</summary>
    internal abstract byte[] StandaloneOnnx();
}
