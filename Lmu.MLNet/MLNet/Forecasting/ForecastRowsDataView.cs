using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Forecasting;

/// <summary>
/// An in-memory IDataView of the scoring helpers' columns: Text (series ids), Int32 (positions), scalar Single and
/// Vector&lt;Single, n&gt; (windows, forecasts); names known only at run time.
/// </summary>
internal sealed class ForecastRowsDataView : IDataView
{
    private readonly Array[] _columns; // per column: string[], int[], float[] or float[][]

    /// <summary>Each column: name, type (Text, Int32, Single or a known-size Vector of Single) and one value per row.</summary>
    public ForecastRowsDataView(IReadOnlyList<(string Name, DataViewType Type, Array Values)> columns)
    {
        var builder = new DataViewSchema.Builder();
        foreach (var (name, type, values) in columns)
        {
            var ok = (type, values) switch
            {
                (TextDataViewType, string[]) => true,
                (NumberDataViewType t, int[]) when t == NumberDataViewType.Int32 => true,
                (NumberDataViewType t, float[]) when t == NumberDataViewType.Single => true,
                (VectorDataViewType v, float[][]) when v.ItemType == NumberDataViewType.Single && v.IsKnownSize => true,
                _ => false,
            };
            if (!ok)
            {
                throw new ArgumentException($"Column '{name}': {type} with {values.GetType().Name} values is not supported.");
            }

            builder.AddColumn(name, type);
        }

        Schema = builder.ToSchema();
        _columns = columns.Select(c => c.Values).ToArray();
        RowCount = _columns.Length == 0 ? 0 : _columns[0].Length;
    }

    public int RowCount { get; }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => RowCount;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(this);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => [new Cursor(this)];

    private sealed class Cursor(ForecastRowsDataView view) : DataViewRowCursor
    {
        private long _position = -1;

        public override DataViewSchema Schema => view.Schema;

        public override long Position => _position;

        public override long Batch => 0;

        public override bool IsColumnActive(DataViewSchema.Column column) => true;

        public override bool MoveNext()
        {
            if (_position + 1 >= view.RowCount)
            {
                _position = view.RowCount;
                return false;
            }

            _position++;
            return true;
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            Delegate getter = view._columns[column.Index] switch
            {
                string[] text => (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> v) => v = text[(int)_position].AsMemory()),
                int[] ints => (ValueGetter<int>)((ref int v) => v = ints[(int)_position]),
                float[] floats => (ValueGetter<float>)((ref float v) => v = floats[(int)_position]),
                float[][] vectors => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> v) =>
                {
                    var src = vectors[(int)_position];
                    var editor = VBufferEditor.Create(ref v, src.Length);
                    src.CopyTo(editor.Values);
                    v = editor.Commit();
                }),
                _ => throw new InvalidOperationException(),
            };
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' is {column.Type}, not {typeof(TValue).Name}.");
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() =>
            (ref DataViewRowId value) => value = new DataViewRowId((ulong)_position, 0);
    }
}
