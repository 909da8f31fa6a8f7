using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Forecasting;

/// <summary>
/// Series-layout rows (one value per row) read with the window layout the carried graph scores: every input column
/// passes through, and each row gains the window of its own value and the <c>T - 1</c> before it in its series (NaN
/// while fewer than T have been seen), and each covariate column reads as its window under its own name (the scalar
/// column is hidden). Why: ML.NET's chains call Transform after the last Fit, and a forecaster fitted on the series
/// layout could not Transform its own training data, so it failed after training in any EstimatorChain (found by QA).
/// </summary>
/// <remarks>
/// Rows stream in order with one window per series in memory; the rows of each series must be in time order
/// (interleaved series are fine). The view cannot shuffle or split: a window needs the rows before it.
/// </remarks>
internal sealed class SeriesWindowsView : IDataView
{
    private readonly IDataView _inner;
    private readonly int _steps;
    private readonly int _series;
    private readonly int _id;
    private readonly int[] _covariates;
    private readonly string? _idName;
    private readonly string[] _names;

    /// <param name="inner">Series-layout rows.</param>
    /// <param name="seriesColumn">Scalar Single series column.</param>
    /// <param name="idColumn">Series id column (Text or a number), or null for one series.</param>
    /// <param name="covariates">Scalar Single covariate columns, in the model's order.</param>
    /// <param name="windowColumn">The window column the model reads.</param>
    /// <param name="steps">The window length T.</param>
    public SeriesWindowsView(IDataView inner, string seriesColumn, string? idColumn, IReadOnlyList<string> covariates, string windowColumn, int steps)
    {
        _inner = inner;
        _steps = steps;
        _series = ForecastDataReader.Column(inner.Schema, seriesColumn, "series", NumberDataViewType.Single).Index;
        if (idColumn is not null)
        {
            // Checked here, not when a cursor opens, so Transform itself refuses it.
            ForecastDataReader.CheckIdType(ForecastDataReader.Column(inner.Schema, idColumn, "series id", null));
        }

        _id = idColumn is null ? -1 : inner.Schema[idColumn].Index;
        _idName = idColumn;
        _names = new[] { seriesColumn }.Concat(covariates).ToArray();
        _covariates = covariates.Select(c => ForecastDataReader.Column(inner.Schema, c, "covariate", NumberDataViewType.Single).Index).ToArray();
        Schema = WindowSchema(inner.Schema, covariates, windowColumn, steps);
    }

    /// <inheritdoc />
    public bool CanShuffle => false;

    /// <inheritdoc />
    public DataViewSchema Schema { get; }

    /// <summary><paramref name="schema"/> followed by the window column and one window column per covariate (hiding the scalar one).</summary>
    public static DataViewSchema WindowSchema(DataViewSchema schema, IReadOnlyList<string> covariates, string windowColumn, int steps)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(schema);
        var window = new VectorDataViewType(NumberDataViewType.Single, steps);
        builder.AddColumn(windowColumn, window);
        foreach (var c in covariates)
        {
            builder.AddColumn(c, window);
        }

        return builder.ToSchema();
    }

    /// <inheritdoc />
    public long? GetRowCount() => _inner.GetRowCount();

    /// <inheritdoc />
    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = columnsNeeded.Select(c => c.Index).ToHashSet();
        var inner = needed.Where(i => i < _inner.Schema.Count).Concat([_series, .. _covariates]).Concat(_id >= 0 ? [_id] : []).Distinct();
        return new Cursor(this, _inner.GetRowCursor(inner.Select(i => _inner.Schema[i])), needed);
    }

    /// <inheritdoc />
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly SeriesWindowsView _view;
        private readonly DataViewRowCursor _inner;
        private readonly HashSet<int> _needed;
        private readonly ValueGetter<float>[] _values;
        private readonly Func<string> _id;
        private readonly Dictionary<string, History> _histories = new(StringComparer.Ordinal);
        private readonly float[] _read;
        private History? _current;

        public Cursor(SeriesWindowsView view, DataViewRowCursor inner, HashSet<int> needed)
        {
            _view = view;
            _inner = inner;
            _needed = needed;
            _values = new[] { view._series }.Concat(view._covariates).Select(i => inner.GetGetter<float>(inner.Schema[i])).ToArray();
            _id = view._id < 0 ? () => string.Empty : ForecastDataReader.IdGetter(inner, inner.Schema[view._id]);
            _read = new float[_values.Length];
        }

        public override long Position => _inner.Position;

        public override long Batch => _inner.Batch;

        public override DataViewSchema Schema => _view.Schema;

        public override bool MoveNext()
        {
            if (!_inner.MoveNext())
            {
                _current = null;
                return false;
            }

            // Every row enters its series' history whether or not a window is read, so later windows hold it.
            var key = _id();
            if (!_histories.TryGetValue(key, out var history))
            {
                history = new History(_values.Length, _view._steps);
                _histories.Add(key, history);
            }

            for (var c = 0; c < _values.Length; c++)
            {
                _values[c](ref _read[c]);
                // A gap is refused as Fit and LmuForecastWindows.Score refuse it (it would give NaN forecasts for a window's
                // length of rows without a word; found by review).
                ForecastDataReader.Finite(_read[c], _view._names[c], _inner.Position, key, _view._idName);
            }

            history.Push(_read);
            _current = history;
            return true;
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => _inner.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) =>
            column.Index < _view._inner.Schema.Count ? _inner.IsColumnActive(_inner.Schema[column.Index]) : _needed.Contains(column.Index);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            var inputs = _view._inner.Schema.Count;
            if (column.Index < inputs)
            {
                return _inner.GetGetter<TValue>(_inner.Schema[column.Index]);
            }

            if (typeof(TValue) != typeof(VBuffer<float>))
            {
                throw new InvalidOperationException($"Column '{column.Name}' is a Vector<Single, {_view._steps}>; it was asked for as {typeof(TValue).Name}.");
            }

            // Window column first, then one per covariate, in the order the readers were made.
            var channel = column.Index - inputs;
            ValueGetter<VBuffer<float>> getter = (ref VBuffer<float> value) =>
            {
                var history = _current ?? throw new InvalidOperationException("The cursor is not on a row.");
                var editor = VBufferEditor.Create(ref value, _view._steps);
                history.Window(channel, editor.Values);
                value = editor.Commit();
            };
            return (ValueGetter<TValue>)(Delegate)getter;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    /// <summary>The last T values of each channel of one series (a ring per channel).</summary>
    private sealed class History(int channels, int steps)
    {
        private readonly float[][] _rings = Enumerable.Range(0, channels).Select(_ => new float[steps]).ToArray();
        private long _seen;

        public void Push(float[] values)
        {
            var slot = (int)(_seen % steps);
            for (var c = 0; c < channels; c++)
            {
                _rings[c][slot] = values[c];
            }

            _seen++;
        }

        /// <summary>Oldest value first; all NaN until T values have been seen (as <see cref="LmuForecastWindows.Score"/> gives rows before the first full window).</summary>
        public void Window(int channel, Span<float> into)
        {
            if (_seen < steps)
            {
                into.Fill(float.NaN);
                return;
            }

            var ring = _rings[channel];
            var start = (int)(_seen % steps);
            ring.AsSpan(start).CopyTo(into);
            ring.AsSpan(0, start).CopyTo(into[(steps - start)..]);
        }
    }
}
