using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Forecasting;

/// <summary>
/// An in-memory IDataView of float columns (scalars when the width is 0, else fixed-size vectors) whose names are
/// only known at run time, which ML.NET's LoadFromEnumerable (one class member per column) cannot express. The rows
/// are served by <see cref="ForecastRowsDataView"/>; this keeps the float-only constructor its callers use.
/// </summary>
internal sealed class FloatColumnsDataView : IDataView
{
    private readonly ForecastRowsDataView _rows;

    /// <param name="columns">Name, width (0 = scalar) and per-row values of each column; all columns have the same row count.</param>
    public FloatColumnsDataView(IReadOnlyList<(string Name, int Width, float[][] Rows)> columns) =>
        _rows = new ForecastRowsDataView(columns.Select(c => c.Width == 0
            ? (c.Name, (DataViewType)NumberDataViewType.Single, (Array)c.Rows.Select(r => r[0]).ToArray())
            : (c.Name, new VectorDataViewType(NumberDataViewType.Single, c.Width), (Array)c.Rows)).ToList());

    public int RowCount => _rows.RowCount;

    public bool CanShuffle => false;

    public DataViewSchema Schema => _rows.Schema;

    public long? GetRowCount() => _rows.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => _rows.GetRowCursor(columnsNeeded, rand);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => _rows.GetRowCursorSet(columnsNeeded, n, rand);
}
