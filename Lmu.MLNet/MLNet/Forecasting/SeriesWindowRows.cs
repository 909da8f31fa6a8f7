using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Forecasting;

/// <summary>
/// Every window (stride 1) of series already read into memory, in the window layout the forecaster scores: the window
/// column, one window column per covariate (same name) and, when a label column is named, the <c>horizon</c> values that
/// follow each window. Windows are cut from the series when a cursor reads them, so the view holds nothing but the
/// series: the lists of float arrays it replaces took about 120 bytes per window and value of T for a million-point
/// series (QA measured 1.4 GB for <see cref="LmuForecastWindows.Score"/> there).
/// </summary>
/// <remarks>
/// Rows: series in the given order, each series' windows by their last position, from <c>window - 1</c> to
/// <c>length - 1 - horizon</c>. Values are the series' doubles rounded to float, as the scoring helpers always gave.
/// </remarks>
internal sealed class SeriesWindowRows : IDataView
{
    private readonly IReadOnlyList<ForecastSeries> _series;
    private readonly int _window;
    private readonly int _horizon;
    private readonly int _covariates;
    private readonly bool _hasLabel;

    /// <param name="series">The series (each at least <paramref name="window"/> values long, or it gives no row).</param>
    /// <param name="window">Window length T.</param>
    /// <param name="horizon">Values after each window that must exist (and form the label when <paramref name="labelColumn"/> is given); 0 for scoring.</param>
    /// <param name="windowColumn">Name of the window column.</param>
    /// <param name="covariates">Names of the covariate window columns, in the order of each series' covariates.</param>
    /// <param name="labelColumn">Name of the label column (Vector of <paramref name="horizon"/>), or null for none.</param>
    public SeriesWindowRows(
        IReadOnlyList<ForecastSeries> series, int window, int horizon, string windowColumn, IReadOnlyList<string> covariates, string? labelColumn)
    {
        if (labelColumn is not null && horizon < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(horizon), horizon, "A label column needs a horizon of at least 1.");
        }

        _series = series;
        _window = window;
        _horizon = horizon;
        _covariates = covariates.Count;
        _hasLabel = labelColumn is not null;
        var builder = new DataViewSchema.Builder();
        var vector = new VectorDataViewType(NumberDataViewType.Single, window);
        builder.AddColumn(windowColumn, vector);
        foreach (var c in covariates)
        {
            builder.AddColumn(c, vector);
        }

        if (labelColumn is not null)
        {
            builder.AddColumn(labelColumn, new VectorDataViewType(NumberDataViewType.Single, horizon));
        }

        Schema = builder.ToSchema();
        RowCount = series.Sum(s => (long)Count(s));
    }

    /// <summary>Number of windows over all series.</summary>
    public long RowCount { get; }

    /// <inheritdoc />
    public bool CanShuffle => false;

    /// <inheritdoc />
    public DataViewSchema Schema { get; }

    /// <inheritdoc />
    public long? GetRowCount() => RowCount;

    /// <inheritdoc />
    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, columnsNeeded.Select(c => c.Index).ToHashSet());

    /// <inheritdoc />
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private int Count(ForecastSeries s) => Math.Max(0, s.Target.Length - _window - _horizon + 1);

    private sealed class Cursor(SeriesWindowRows view, HashSet<int> needed)
        : SeriesPointCursor(view._series, view.Schema, needed, view.RowCount, view._window - 1, s => s.Target.Length - 1 - view._horizon)
    {
        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (typeof(TValue) != typeof(VBuffer<float>))
            {
                throw new InvalidOperationException($"Column '{column.Name}' is {column.Type}; it was asked for as {typeof(TValue).Name}.");
            }

            // Columns: the window, the covariates in order, then the label.
            var index = column.Index;
            ValueGetter<VBuffer<float>> getter = index <= view._covariates
                ? (ref VBuffer<float> value) =>
                {
                    var s = Current;
                    Copy(index == 0 ? s.Target : s.Covariates[index - 1], Point - view._window + 1, view._window, ref value);
                }
                : (ref VBuffer<float> value) => Copy(Current.Target, Point + 1, view._horizon, ref value);
            return (ValueGetter<TValue>)(Delegate)getter;
        }

        private static void Copy(double[] values, int start, int count, ref VBuffer<float> value)
        {
            var editor = VBufferEditor.Create(ref value, count);
            for (var i = 0; i < count; i++)
            {
                editor.Values[i] = (float)values[start + i];
            }

            value = editor.Commit();
        }
    }
}
