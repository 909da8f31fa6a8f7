using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.Infrastructure;

/// <summary>
/// An IDataView whose rows are computed from their index when read, so it holds nothing itself, and which watches how
/// it is read: cursors opened, rows served, and (once <see cref="StartMeasuring"/> ran) the managed memory retained
/// above a baseline, sampled after a full collection every <c>sampleEvery</c> rows of every cursor and whenever
/// <see cref="Sample"/> is called. A consumer that copies the rows into memory shows it in <see cref="MaxRetainedBytes"/>
/// within one pass; one that keeps them across passes shows it at every sample and reads no rows on later passes.
/// </summary>
internal sealed class ProbeDataView : IDataView
{
    private readonly ProbeColumn[] _columns;
    private readonly long _rows;
    private readonly long _sampleEvery;
    private readonly object _gate = new();
    private long _baseline;
    private bool _measuring;
    private int _cursors;
    private long _served;
    private long _maxRetained;

    /// <param name="rows">Rows in the view.</param>
    /// <param name="sampleEvery">Rows between memory samples within a cursor's pass.</param>
    /// <param name="columns">The columns.</param>
    public ProbeDataView(long rows, long sampleEvery, params ProbeColumn[] columns)
    {
        _rows = rows;
        _sampleEvery = sampleEvery;
        _columns = columns;
        var builder = new DataViewSchema.Builder();
        foreach (var c in columns)
        {
            builder.AddColumn(c.Name, c.Type);
        }

        Schema = builder.ToSchema();
    }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public int CursorsOpened => Volatile.Read(ref _cursors);

    public long RowsServed => Interlocked.Read(ref _served);

    /// <summary>The most managed memory seen retained above the baseline (bytes, after a full blocking collection).</summary>
    public long MaxRetainedBytes
    {
        get
        {
            lock (_gate)
            {
                return _maxRetained;
            }
        }
    }

    /// <summary>Rows served by every cursor after the first (null: all): a view that drains or changes between reads.</summary>
    public long? LaterCursorRows { get; init; }

    public long? GetRowCount() => _rows;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var rows = Interlocked.Increment(ref _cursors) > 1 && LaterCursorRows is { } later ? later : _rows;
        return new Cursor(this, columnsNeeded.Select(c => c.Index).ToHashSet(), rows);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    /// <summary>Takes the baseline (after a full collection) and starts sampling.</summary>
    public void StartMeasuring()
    {
        var baseline = Retained();
        lock (_gate)
        {
            _baseline = baseline;
            _maxRetained = 0;
            _measuring = true;
        }
    }

    /// <summary>Samples the retained memory now (e.g. from a progress callback between epochs).</summary>
    public void Sample()
    {
        lock (_gate)
        {
            if (!_measuring)
            {
                return;
            }
        }

        var retained = Retained();
        lock (_gate)
        {
            _maxRetained = Math.Max(_maxRetained, retained - _baseline);
        }
    }

    private static long Retained()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private sealed class Cursor(ProbeDataView view, HashSet<int> active, long rows) : DataViewRowCursor
    {
        private long _position = -1;

        public override DataViewSchema Schema => view.Schema;

        public override long Position => _position;

        public override long Batch => 0;

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);

        public override bool IsColumnActive(DataViewSchema.Column column) => active.Contains(column.Index);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) =>
            (ValueGetter<TValue>)view._columns[column.Index].Getter(() => _position);

        public override bool MoveNext()
        {
            if (_position + 1 >= rows)
            {
                return false;
            }

            _position++;
            Interlocked.Increment(ref view._served);
            if (_position > 0 && _position % view._sampleEvery == 0)
            {
                view.Sample();
            }

            return true;
        }
    }
}
