using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Scoring;

/// <summary>
/// One element of a loaded model (ML.NET's OnnxTransformer, say) behind a <see cref="ScoringGuard"/>: disposing it
/// while PredictionEngines or cursors score only refuses new calls, and the element is released after the running
/// ones (open cursors included) are done. It saves as the element itself, so a zip saved from it loads with plain
/// <c>mlContext.Model.Load</c>.
/// </summary>
internal sealed class GuardedTransformer : ITransformer, IDisposable
{
    private readonly ITransformer _inner;
    private readonly ScoringGuard _guard;

    public GuardedTransformer(ITransformer inner, string name)
    {
        _inner = inner;
        _guard = new ScoringGuard(inner as IDisposable, name);
    }

    /// <summary>The transformer it guards (for inspection only: calls on it bypass the guard).</summary>
    internal ITransformer Inner => _inner;

    /// <summary>The guard (tests).</summary>
    internal ScoringGuard Guard => _guard;

    /// <inheritdoc />
    public bool IsRowToRowMapper => _inner.IsRowToRowMapper;

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
        // Input vectors are held to their declared size: ONNX Runtime's shape error names no column.
        return new GuardedRowToRowMapper(new CheckedMapper(_inner.GetRowToRowMapper(inputSchema), VectorSizeRule.Instance), _guard);
    }

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var entry = _guard.Enter();
        return new GuardedDataView(_inner.Transform(new CheckedView(input, VectorSizeRule.Instance)), _guard);
    }

    /// <inheritdoc />
    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        using var entry = _guard.Enter();
        _inner.Save(ctx);
    }

    /// <summary>Refuses new calls; the element is released once running calls and open cursors are done.</summary>
    public void Dispose() => _guard.Close();
}
