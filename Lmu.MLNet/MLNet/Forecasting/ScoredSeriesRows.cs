using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Forecasting;

/// <summary>
/// <see cref="LmuForecastWindows.Score"/>'s output: every series-layout row with the forecast made from the window that
/// ends at it (NaN before a series' first full window). The model runs while a cursor reads the forecast columns, one
/// window at a time from <see cref="SeriesWindowRows"/>, so reading holds one row's outputs, not every window and every
/// forecast (1.4 GB for a million points before; QA).
/// </summary>
/// <remarks>
/// Columns: the series id (Text, when named), "Position" (Int32), the series value and each covariate (Single), then
/// the model's outputs (Vector of Horizon). A cursor that reads no output column does not run the model.
/// </remarks>
internal sealed class ScoredSeriesRows : IDataView
{
    private readonly IReadOnlyList<ForecastSeries> _series;
    private readonly int _window;
    private readonly int _horizon;
    private readonly bool _hasId;
    private readonly int _covariates;
    private readonly IDataView _scored;
    private readonly string[] _outputs;
    private readonly int _firstOutput;

    /// <param name="series">The series read from the scoring data.</param>
    /// <param name="window">The model's window length T.</param>
    /// <param name="horizon">The model's horizon (width of each output).</param>
    /// <param name="scored">The model's Transform of <see cref="SeriesWindowRows"/> over <paramref name="series"/> (horizon 0).</param>
    /// <param name="outputs">The output columns of <paramref name="scored"/> to carry, in order.</param>
    /// <param name="names">Column names: series id (null for none), series, covariates.</param>
    public ScoredSeriesRows(
        IReadOnlyList<ForecastSeries> series, int window, int horizon, IDataView scored, IReadOnlyList<string> outputs,
        (string? Id, string Series, IReadOnlyList<string> Covariates) names)
    {
        _series = series;
        _window = window;
        _horizon = horizon;
        _scored = scored;
        _outputs = [.. outputs];
        _hasId = names.Id is not null;
        _covariates = names.Covariates.Count;
        var builder = new DataViewSchema.Builder();
        if (names.Id is not null)
        {
            builder.AddColumn(names.Id, TextDataViewType.Instance);
        }

        builder.AddColumn("Position", NumberDataViewType.Int32);
        builder.AddColumn(names.Series, NumberDataViewType.Single);
        foreach (var c in names.Covariates)
        {
            builder.AddColumn(c, NumberDataViewType.Single);
        }

        _firstOutput = (_hasId ? 1 : 0) + 2 + _covariates;
        foreach (var o in outputs)
        {
            builder.AddColumn(o, new VectorDataViewType(NumberDataViewType.Single, horizon));
        }

        Schema = builder.ToSchema();
        RowCount = series.Sum(s => (long)s.Target.Length);
    }

    /// <summary>Number of rows (every value of every series).</summary>
    public long RowCount { get; }

    /// <inheritdoc />
    public bool CanShuffle => false;

    /// <inheritdoc />
    public DataViewSchema Schema { get; }

    /// <inheritdoc />
    public long? GetRowCount() => RowCount;

    /// <inheritdoc />
    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = columnsNeeded.Select(c => c.Index).ToHashSet();
        var outputs = needed.Where(i => i >= _firstOutput).Select(i => _scored.Schema[_outputs[i - _firstOutput]]).ToArray();
        // Opened here, not at the first MoveNext, so a disposed model throws when the cursor is asked for.
        var inner = outputs.Length == 0 ? null : _scored.GetRowCursor(outputs);
        return new Cursor(this, needed, inner);
    }

    /// <inheritdoc />
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor(ScoredSeriesRows view, HashSet<int> needed, DataViewRowCursor? scored)
        : SeriesPointCursor(view._series, view.Schema, needed, view.RowCount, 0, s => s.Target.Length - 1)
    {
        protected override void OnRow(int point)
        {
            // The model's rows are the windows in the same order, one per point from a series' (T-1)th on.
            if (scored is not null && point >= view._window - 1 && !scored.MoveNext())
            {
                throw new InvalidOperationException($"The model gave fewer rows than windows (row {Position} of {view.RowCount}).");
            }
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            Delegate getter = Kind(column.Index) switch
            {
                0 => (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> v) => v = Current.Id.AsMemory()),
                1 => (ValueGetter<int>)((ref int v) => v = Point),
                2 => ValueGetter(column.Index - (view._hasId ? 2 : 1)),
                _ => OutputGetter(column),
            };
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' is {column.Type}, not {typeof(TValue).Name}.");
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                scored?.Dispose();
            }

            base.Dispose(disposing);
        }

        // 0: id, 1: position, 2: series value or covariate (channel = index - first value column), 3: model output.
        private int Kind(int index) =>
            view._hasId && index == 0 ? 0
            : index == (view._hasId ? 1 : 0) ? 1
            : index < view._firstOutput ? 2
            : 3;

        private ValueGetter<float> ValueGetter(int channel) => (ref float v) =>
        {
            var s = Current;
            v = (float)(channel == 0 ? s.Target : s.Covariates[channel - 1])[Point];
        };

        private ValueGetter<VBuffer<float>> OutputGetter(DataViewSchema.Column column)
        {
            if (scored is null || !IsColumnActive(column))
            {
                throw new InvalidOperationException($"Column '{column.Name}' was not requested when the cursor was made.");
            }

            var inner = scored.GetGetter<VBuffer<float>>(scored.Schema[view._outputs[column.Index - view._firstOutput]]);
            var buffer = default(VBuffer<float>);
            return (ref VBuffer<float> value) =>
            {
                var point = Point;
                var editor = VBufferEditor.Create(ref value, view._horizon);
                if (point < view._window - 1)
                {
                    editor.Values.Fill(float.NaN);
                }
                else
                {
                    inner(ref buffer);
                    buffer.CopyTo(editor.Values);
                }

                value = editor.Commit();
            };
        }
    }
}
