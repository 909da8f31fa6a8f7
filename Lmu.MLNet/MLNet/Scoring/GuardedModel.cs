using System.Collections;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Scoring;

/// <summary>
/// What <see cref="LmuModelFile"/> loads: ML.NET's own chain from the zip behind a <see cref="ScoringGuard"/>, so that
/// disposing it while PredictionEngines or cursors score only refuses new calls and releases the ONNX Runtime sessions
/// after the running ones return. It enumerates as the chain's transformers and saves as the chain, so a zip saved
/// from it loads with plain <c>mlContext.Model.Load</c>.
/// </summary>
internal sealed class GuardedModel : ITransformer, IDisposable, IEnumerable<ITransformer>
{
    private readonly ITransformer _inner;
    private readonly ScoringGuard _guard;

    public GuardedModel(ITransformer inner)
    {
        _inner = inner;
        _guard = new ScoringGuard(inner as IDisposable, "the model loaded by LmuModelFile.Load");
    }

    /// <inheritdoc />
    public bool IsRowToRowMapper => _inner.IsRowToRowMapper;

    /// <summary>The guard (tests).</summary>
    internal ScoringGuard Guard => _guard;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        _guard.ThrowIfClosed();
        return _inner.GetOutputSchema(inputSchema);
    }

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        using var entry = _guard.Enter();
        return new GuardedRowToRowMapper(_inner.GetRowToRowMapper(inputSchema), _guard);
    }

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var entry = _guard.Enter();
        return new GuardedDataView(_inner.Transform(input), _guard);
    }

    /// <inheritdoc />
    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        using var entry = _guard.Enter();
        _inner.Save(ctx);
    }

    /// <summary>Refuses new calls; the ONNX Runtime sessions are released once running calls have returned.</summary>
    public void Dispose() => _guard.Close();

    /// <inheritdoc />
    public IEnumerator<ITransformer> GetEnumerator() => (_inner as IEnumerable<ITransformer> ?? [_inner]).GetEnumerator();

    /// <inheritdoc />
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
