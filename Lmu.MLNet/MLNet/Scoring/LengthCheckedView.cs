using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Scoring;

/// <summary>A data view whose sequence-length column's getter checks every value it reads against <see cref="SequenceLengthRule"/>; the schema and every other column pass through.</summary>
internal sealed class LengthCheckedView(IDataView inner, SequenceLengthRule rule) : IDataView
{
    private readonly int _length = inner.Schema[rule.Column].Index;

    /// <inheritdoc />
    public bool CanShuffle => inner.CanShuffle;

    /// <inheritdoc />
    public DataViewSchema Schema => inner.Schema;

    /// <inheritdoc />
    public long? GetRowCount() => inner.GetRowCount();

    /// <inheritdoc />
    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(inner.GetRowCursor(columnsNeeded, rand), _length, rule);

    /// <inheritdoc />
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        inner.GetRowCursorSet(columnsNeeded, n, rand).Select(c => (DataViewRowCursor)new Cursor(c, _length, rule)).ToArray();

    /// <summary><paramref name="row"/> with its length getter checked (a PredictionEngine's input row).</summary>
    public static DataViewRow Row(DataViewRow row, SequenceLengthRule rule) => new CheckedRow(row, row.Schema[rule.Column].Index, rule);

    private sealed class Cursor(DataViewRowCursor inner, int length, SequenceLengthRule rule) : DataViewRowCursor
    {
        public override long Position => inner.Position;

        public override long Batch => inner.Batch;

        public override DataViewSchema Schema => inner.Schema;

        public override bool MoveNext() => inner.MoveNext();

        public override ValueGetter<DataViewRowId> GetIdGetter() => inner.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) => inner.IsColumnActive(column);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) =>
            column.Index == length ? rule.Checked(inner.GetGetter<TValue>(column), () => inner.Position) : inner.GetGetter<TValue>(column);

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
    private sealed class CheckedRow(DataViewRow inner, int length, SequenceLengthRule rule) : DataViewRow
    {
        public override long Position => inner.Position;

        public override long Batch => inner.Batch;

        public override DataViewSchema Schema => inner.Schema;

        public override ValueGetter<DataViewRowId> GetIdGetter() => inner.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) => inner.IsColumnActive(column);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) =>
            column.Index == length ? rule.Checked(inner.GetGetter<TValue>(column), () => inner.Position) : inner.GetGetter<TValue>(column);
    }
}
