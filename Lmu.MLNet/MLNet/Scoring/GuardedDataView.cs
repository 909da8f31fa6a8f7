using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Scoring;

/// <summary>
/// The lazy output of a guarded model's <c>Transform</c>: its cursors score rows as they move, so MoveNext and every
/// getter run inside the model's <see cref="ScoringGuard"/>.
/// </summary>
internal sealed class GuardedDataView(IDataView inner, ScoringGuard guard) : IDataView
{
    /// <inheritdoc />
    public bool CanShuffle => inner.CanShuffle;

    /// <inheritdoc />
    public DataViewSchema Schema => inner.Schema;

    /// <inheritdoc />
    public long? GetRowCount() => inner.GetRowCount();

    /// <inheritdoc />
    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        using var entry = guard.Enter();
        return new Cursor(inner.GetRowCursor(columnsNeeded, rand), guard);
    }

    /// <inheritdoc />
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
    {
        using var entry = guard.Enter();
        return inner.GetRowCursorSet(columnsNeeded, n, rand).Select(c => (DataViewRowCursor)new Cursor(c, guard)).ToArray();
    }

    private sealed class Cursor(DataViewRowCursor inner, ScoringGuard guard) : DataViewRowCursor
    {
        public override long Position => inner.Position;

        public override long Batch => inner.Batch;

        public override DataViewSchema Schema => inner.Schema;

        public override ValueGetter<DataViewRowId> GetIdGetter() => inner.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) => inner.IsColumnActive(column);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => GuardedRow.Guard(inner.GetGetter<TValue>(column), guard);

        public override bool MoveNext()
        {
            using var entry = guard.Enter();
            return inner.MoveNext();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
