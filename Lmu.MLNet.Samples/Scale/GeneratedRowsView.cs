using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Samples.Scale;

/// <summary>
/// An IDataView of Single columns (scalars or known-size vectors) whose rows are computed from their index when read,
/// so that a dataset of any size can be written to disk with bounded memory.
/// </summary>
internal sealed class GeneratedRowsView : IDataView
{
    private readonly (string Name, int Size, Action<long, Span<float>> Fill)[] _columns;
    private readonly long _rows;

    /// <param name="rows">Rows.</param>
    /// <param name="columns">Each column: name, size (0 for a scalar) and a function writing row r's values.</param>
    public GeneratedRowsView(long rows, params (string Name, int Size, Action<long, Span<float>> Fill)[] columns)
    {
        _rows = rows;
        _columns = columns;
        var builder = new DataViewSchema.Builder();
        foreach (var (name, size, _) in columns)
        {
            builder.AddColumn(name, size == 0 ? NumberDataViewType.Single : new VectorDataViewType(NumberDataViewType.Single, size));
        }

        Schema = builder.ToSchema();
    }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => _rows;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(this);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => [new Cursor(this)];

    private sealed class Cursor(GeneratedRowsView view) : DataViewRowCursor
    {
        private long _position = -1;

        public override DataViewSchema Schema => view.Schema;

        public override long Position => _position;

        public override long Batch => 0;

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);

        public override bool IsColumnActive(DataViewSchema.Column column) => true;

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            var (_, size, fill) = view._columns[column.Index];
            if (size == 0)
            {
                var one = new float[1];
                ValueGetter<float> scalar = (ref float v) =>
                {
                    fill(_position, one);
                    v = one[0];
                };
                return (ValueGetter<TValue>)(Delegate)scalar;
            }

            ValueGetter<VBuffer<float>> vector = (ref VBuffer<float> v) =>
            {
                var editor = VBufferEditor.Create(ref v, size);
                fill(_position, editor.Values);
                v = editor.Commit();
            };
            return (ValueGetter<TValue>)(Delegate)vector;
        }

        public override bool MoveNext() => ++_position < view._rows;
    }
}
