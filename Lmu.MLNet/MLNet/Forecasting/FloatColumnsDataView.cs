using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Forecasting;

/// <summary>
/// An in-memory IDataView of float columns (scalars when the width is 0, else fixed-size vectors) whose names are
/// only known at run time, which ML.NET's LoadFromEnumerable (one class member per column) cannot express.
/// </summary>
internal sealed class FloatColumnsDataView : IDataView
{
    private readonly IReadOnlyList<float[][]> _columns; // per column, per row: the value(s)

    /// <param name="columns">Name, width (0 = scalar) and per-row values of each column; all columns have the same row count.</param>
    public FloatColumnsDataView(IReadOnlyList<(string Name, int Width, float[][] Rows)> columns)
    {
        var builder = new DataViewSchema.Builder();
        foreach (var (name, width, _) in columns)
        {
            builder.AddColumn(name, width == 0 ? NumberDataViewType.Single : new VectorDataViewType(NumberDataViewType.Single, width));
        }

        Schema = builder.ToSchema();
        _columns = columns.Select(c => c.Rows).ToArray();
        RowCount = _columns.Count == 0 ? 0 : _columns[0].Length;
    }

    public int RowCount { get; }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => RowCount;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(this);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => [new Cursor(this)];

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly FloatColumnsDataView _view;
        private long _position = -1;

        public Cursor(FloatColumnsDataView view) => _view = view;

        public override DataViewSchema Schema => _view.Schema;

        public override long Position => _position;

        public override long Batch => 0;

        public override bool IsColumnActive(DataViewSchema.Column column) => true;

        public override bool MoveNext()
        {
            if (_position + 1 >= _view.RowCount)
            {
                _position = _view.RowCount;
                return false;
            }

            _position++;
            return true;
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            var rows = _view._columns[column.Index];
            if (column.Type is VectorDataViewType)
            {
                ValueGetter<VBuffer<float>> vector = (ref VBuffer<float> value) =>
                {
                    var src = rows[(int)_position];
                    var editor = VBufferEditor.Create(ref value, src.Length);
                    src.CopyTo(editor.Values);
                    value = editor.Commit();
                };
                return (ValueGetter<TValue>)(Delegate)vector;
            }

            ValueGetter<float> scalar = (ref float value) => value = rows[(int)_position][0];
            return (ValueGetter<TValue>)(Delegate)scalar;
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() =>
            (ref DataViewRowId value) => value = new DataViewRowId((ulong)_position, 0);
    }
}
