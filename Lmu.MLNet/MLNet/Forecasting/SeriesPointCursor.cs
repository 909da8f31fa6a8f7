using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Forecasting;

/// <summary>
/// A cursor over positions of series held in memory: series in order, in each the positions from <c>first</c> to
/// <c>last(series)</c> (none when that is below <c>first</c>). The walking, position and id shared by
/// <see cref="SeriesWindowRows"/> (one row per window end) and <see cref="ScoredSeriesRows"/> (one row per value).
/// </summary>
internal abstract class SeriesPointCursor(
    IReadOnlyList<ForecastSeries> series, DataViewSchema schema, HashSet<int> needed, long rowCount, int first, Func<ForecastSeries, int> last)
    : DataViewRowCursor
{
    private int _series;
    private int _point = -1;
    private long _position = -1;

    public override DataViewSchema Schema => schema;

    public override long Position => _position;

    public override long Batch => 0;

    /// <summary>The current position within <see cref="Current"/>.</summary>
    protected int Point
    {
        get
        {
            _ = Current;
            return _point;
        }
    }

    /// <summary>The series of the current row.</summary>
    protected ForecastSeries Current =>
        _position >= 0 && _series < series.Count ? series[_series] : throw new InvalidOperationException("The cursor is not on a row.");

    public override bool IsColumnActive(DataViewSchema.Column column) => needed.Contains(column.Index);

    public override bool MoveNext()
    {
        if (_series < series.Count)
        {
            _point = _position == -1 ? first : _point + 1;
            // Skip past series with no position left (too short, or finished).
            while (_series < series.Count && _point > last(series[_series]))
            {
                _series++;
                _point = first;
            }
        }

        if (_series >= series.Count)
        {
            _position = rowCount;
            return false;
        }

        _position++;
        OnRow(_point);
        return true;
    }

    public override ValueGetter<DataViewRowId> GetIdGetter() =>
        (ref DataViewRowId value) => value = new DataViewRowId((ulong)_position, 0);

    /// <summary>Called when the cursor has moved onto a row, with its position in its series.</summary>
    protected virtual void OnRow(int point)
    {
    }
}
