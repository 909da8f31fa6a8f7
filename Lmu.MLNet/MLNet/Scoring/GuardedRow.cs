using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Scoring;

/// <summary>A row of a guarded model: every getter call runs inside the model's <see cref="ScoringGuard"/>.</summary>
internal sealed class GuardedRow(DataViewRow inner, ScoringGuard guard) : DataViewRow
{
    /// <inheritdoc />
    public override long Position => inner.Position;

    /// <inheritdoc />
    public override long Batch => inner.Batch;

    /// <inheritdoc />
    public override DataViewSchema Schema => inner.Schema;

    /// <inheritdoc />
    public override ValueGetter<DataViewRowId> GetIdGetter() => inner.GetIdGetter();

    /// <inheritdoc />
    public override bool IsColumnActive(DataViewSchema.Column column) => inner.IsColumnActive(column);

    /// <inheritdoc />
    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
    {
        var getter = inner.GetGetter<TValue>(column);
        return (ref TValue value) =>
        {
            using var entry = guard.Enter();
            getter(ref value);
        };
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            // Frees the row's cached outputs, which ONNX Runtime allows after its session is gone.
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
