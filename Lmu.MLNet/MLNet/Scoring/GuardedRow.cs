using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Scoring;

/// <summary>
/// A row of a guarded model: every getter call runs inside the model's <see cref="ScoringGuard"/>, and on one thread
/// at a time. A PredictionEngine holds one such row: shared by threads (ML.NET documents the engine as not
/// thread-safe), its ONNX scorer freed and reused its native outputs from two threads at once, which ended the process
/// ("double free or corruption", found by QA with 8 threads on one engine). The second thread gets an exception
/// instead; a thread may re-enter its own call.
/// </summary>
internal sealed class GuardedRow(DataViewRow inner, ScoringGuard guard) : DataViewRow
{
    private int _owner;   // managed thread id inside a getter, 0 when none
    private int _depth;   // that thread's nesting; only the owner touches it

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
            var me = Environment.CurrentManagedThreadId;
            var owner = Interlocked.CompareExchange(ref _owner, me, 0);
            if (owner != 0 && owner != me)
            {
                throw new InvalidOperationException(
                    $"A PredictionEngine (or row) of {guard.Name} was called from two threads at once. It is not thread-safe, and its ONNX " +
                    "scorer's native buffers would be freed twice: create one PredictionEngine per thread, or take engines from a pool.");
            }

            _depth++;
            try
            {
                using var entry = guard.Enter();
                getter(ref value);
            }
            finally
            {
                if (--_depth == 0)
                {
                    Volatile.Write(ref _owner, 0);
                }
            }
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
