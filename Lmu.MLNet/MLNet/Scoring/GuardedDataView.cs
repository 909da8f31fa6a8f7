using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Scoring;

/// <summary>
/// The lazy output of a guarded model's <c>Transform</c>. Each cursor holds a guard entry for its whole life, from
/// creation to Dispose: ML.NET's cursor over an ONNX scorer splits its source and scores rows ahead of the consumer on
/// worker threads, between the consumer's own calls (found by review: a dispose between two MoveNext calls released
/// the session under those workers). So a cursor opened before the model is disposed reads on to its end, like any
/// running call, and the session is released when the last such cursor is disposed; opening a cursor afterwards
/// throws <see cref="ObjectDisposedException"/>. (Throwing from MoveNext instead reached the consumer wrapped in
/// ML.NET's "Splitter/consolidator worker" error, since downstream cursors call it on their workers.)
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
        var entry = guard.Enter();
        try
        {
            return new Cursor(inner.GetRowCursor(columnsNeeded, rand), entry);
        }
        catch
        {
            entry.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
    {
        var entries = new List<ScoringGuard.Entry> { guard.Enter() };
        DataViewRowCursor[] cursors = [];
        try
        {
            cursors = inner.GetRowCursorSet(columnsNeeded, n, rand);
            while (entries.Count < cursors.Length)
            {
                entries.Add(guard.Enter());
            }

            // One entry per cursor; with no cursor at all, the set's own entry ends here.
            var result = cursors.Select((c, i) => (DataViewRowCursor)new Cursor(c, entries[i])).ToArray();
            if (cursors.Length == 0)
            {
                entries[0].Dispose();
            }

            return result;
        }
        catch
        {
            foreach (var c in cursors)
            {
                c.Dispose();
            }

            entries.ForEach(e => e.Dispose());
            throw;
        }
    }

    private sealed class Cursor(DataViewRowCursor inner, ScoringGuard.Entry entry) : DataViewRowCursor
    {
        private bool _disposed;

        public override long Position => inner.Position;

        public override long Batch => inner.Batch;

        public override DataViewSchema Schema => inner.Schema;

        public override ValueGetter<DataViewRowId> GetIdGetter() => inner.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) => inner.IsColumnActive(column);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => inner.GetGetter<TValue>(column);

        public override bool MoveNext() => inner.MoveNext();

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_disposed)
            {
                _disposed = true;
                // The inner cursor first: disposing it waits for ML.NET's workers, which may still be inside the session.
                try
                {
                    inner.Dispose();
                }
                finally
                {
                    entry.Dispose();
                }
            }

            base.Dispose(disposing);
        }
    }
}
