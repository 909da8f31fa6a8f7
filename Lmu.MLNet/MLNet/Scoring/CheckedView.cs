using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Scoring;

/// <summary>A data view whose getters apply an <see cref="IGetterCheck"/> to every value they read; the schema and the rows pass through.</summary>
internal sealed class CheckedView(IDataView inner, IGetterCheck check) : IDataView
{
    /// <inheritdoc />
    public bool CanShuffle => inner.CanShuffle;

    /// <inheritdoc />
    public DataViewSchema Schema => inner.Schema;

    /// <inheritdoc />
    public long? GetRowCount() => inner.GetRowCount();

    /// <inheritdoc />
    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(inner.GetRowCursor(columnsNeeded, rand), check);

    /// <inheritdoc />
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        inner.GetRowCursorSet(columnsNeeded, n, rand).Select(c => (DataViewRowCursor)new Cursor(c, check)).ToArray();

    /// <summary><paramref name="row"/> with its getters checked (a PredictionEngine's input row).</summary>
    public static DataViewRow Row(DataViewRow row, IGetterCheck check) => new CheckedRow(row, check);

    private sealed class Cursor(DataViewRowCursor inner, IGetterCheck check) : DataViewRowCursor
    {
        public override long Position => inner.Position;

        public override long Batch => inner.Batch;

        public override DataViewSchema Schema => inner.Schema;

        public override bool MoveNext() => inner.MoveNext();

        public override ValueGetter<DataViewRowId> GetIdGetter() => inner.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) => inner.IsColumnActive(column);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) =>
            check.Wrap(column, inner.GetGetter<TValue>(column), () => inner.Position);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    // Disposes nothing: the input row belongs to the caller (the PredictionEngine).
    private sealed class CheckedRow(DataViewRow inner, IGetterCheck check) : DataViewRow
    {
        public override long Position => inner.Position;

        public override long Batch => inner.Batch;

        public override DataViewSchema Schema => inner.Schema;

        public override ValueGetter<DataViewRowId> GetIdGetter() => inner.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) => inner.IsColumnActive(column);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) =>
            check.Wrap(column, inner.GetGetter<TValue>(column), () => inner.Position);
    }
}
