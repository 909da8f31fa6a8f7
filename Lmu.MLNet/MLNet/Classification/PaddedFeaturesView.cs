using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Classification;

/// <summary>
/// A data view whose VarVector&lt;Single&gt; features column reads as the fixed-size Vector&lt;Single, T x C&gt; the carried
/// graph takes, each row padded with zeros as training padded it: at the start without a length column (the row's
/// last step is the sequence's last), at the end with one (whose value must then lie within the row's own steps). Why: a classifier trained on a VarVector column could not
/// Transform its own training data, so every ML.NET pipeline that continued after it (MapKeyToValue, Evaluate,
/// CrossValidate) failed after all epochs had run (found by QA). Other columns pass through unchanged.
/// </summary>
internal sealed class PaddedFeaturesView : IDataView
{
    private readonly IDataView _inner;
    private readonly int _feature;
    private readonly int _width;
    private readonly int _channels;
    private readonly int _length;

    /// <param name="inner">The data to score.</param>
    /// <param name="featureColumn">Its VarVector&lt;Single&gt; features column.</param>
    /// <param name="steps">The model's sequence length T.</param>
    /// <param name="channels">Channels C per step.</param>
    /// <param name="lengthColumn">The sequence-length column (rows padded at the end, each length checked against its row's steps); null pads at the start.</param>
    public PaddedFeaturesView(IDataView inner, string featureColumn, int steps, int channels, string? lengthColumn)
    {
        _inner = inner;
        _feature = inner.Schema[featureColumn].Index;
        _width = steps * channels;
        _channels = channels;
        _length = lengthColumn is null ? -1 : inner.Schema[lengthColumn].Index;
        Schema = PadSchema(inner.Schema, featureColumn, _width);
    }

    /// <inheritdoc />
    public bool CanShuffle => _inner.CanShuffle;

    /// <inheritdoc />
    public DataViewSchema Schema { get; }

    /// <summary><paramref name="schema"/> with <paramref name="featureColumn"/> typed Vector&lt;Single, <paramref name="width"/>&gt;.</summary>
    public static DataViewSchema PadSchema(DataViewSchema schema, string featureColumn, int width)
    {
        var feature = schema[featureColumn].Index;
        var builder = new DataViewSchema.Builder();
        foreach (var column in schema)
        {
            // Re-adding every column in order keeps hidden columns hidden; a VarVector has no slot names to keep.
            builder.AddColumn(
                column.Name,
                column.Index == feature ? new VectorDataViewType(NumberDataViewType.Single, width) : column.Type,
                column.Index == feature ? null : column.Annotations);
        }

        return builder.ToSchema();
    }

    /// <inheritdoc />
    public long? GetRowCount() => _inner.GetRowCount();

    /// <inheritdoc />
    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, _inner.GetRowCursor(Inner(columnsNeeded), rand));

    /// <inheritdoc />
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        _inner.GetRowCursorSet(Inner(columnsNeeded), n, rand).Select(c => (DataViewRowCursor)new Cursor(this, c)).ToArray();

    // The length is read with the features (each row's length is checked against the steps it has).
    private IEnumerable<DataViewSchema.Column> Inner(IEnumerable<DataViewSchema.Column> columns)
    {
        var inner = columns.Select(c => _inner.Schema[c.Index]).ToList();
        if (_length >= 0 && inner.Any(c => c.Index == _feature) && inner.All(c => c.Index != _length))
        {
            inner.Add(_inner.Schema[_length]);
        }

        return inner;
    }

    private void Pad(in VBuffer<float> row, ref VBuffer<float> padded, long position, Func<long>? steps)
    {
        var length = row.Length;
        // An empty row is refused as at Fit: it scored as all padding, a class for no data (found by QA).
        if (length == 0 || length > _width || length % _channels != 0)
        {
            throw new InvalidDataException(
                $"Features column '{Schema[_feature].Name}', row {position}: {length} values; the model takes 1 to {_width / _channels} steps " +
                $"(its sequence length {_width / _channels} x {_channels} channels), a whole number of steps of {_channels} values.");
        }

        // Training refuses a length outside the row's own steps; here the padding would be read as steps (found by review).
        if (steps?.Invoke() is { } n && (n < 1 || n > length / _channels))
        {
            throw new InvalidDataException(
                $"Sequence-length column '{Schema[_length].Name}', row {position}: length {n}; expected a whole number from 1 to {length / _channels} (the row's steps).");
        }

        var editor = VBufferEditor.Create(ref padded, _width);
        editor.Values.Clear();
        var offset = _length < 0 ? _width - length : 0;
        var values = editor.Values.Slice(offset, length);
        if (row.IsDense)
        {
            row.GetValues().CopyTo(values);
        }
        else
        {
            var indices = row.GetIndices();
            var items = row.GetValues();
            for (var i = 0; i < indices.Length; i++)
            {
                values[indices[i]] = items[i];
            }
        }

        padded = editor.Commit();
    }

    private sealed class Cursor(PaddedFeaturesView view, DataViewRowCursor inner) : DataViewRowCursor
    {
        public override long Position => inner.Position;

        public override long Batch => inner.Batch;

        public override DataViewSchema Schema => view.Schema;

        public override ValueGetter<DataViewRowId> GetIdGetter() => inner.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) => inner.IsColumnActive(inner.Schema[column.Index]);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index != view._feature)
            {
                return inner.GetGetter<TValue>(inner.Schema[column.Index]);
            }

            if (typeof(TValue) != typeof(VBuffer<float>))
            {
                throw new InvalidOperationException($"Column '{column.Name}' is {column.Type}; it cannot be read as {typeof(TValue).Name}.");
            }

            var source = inner.GetGetter<VBuffer<float>>(inner.Schema[column.Index]);
            var steps = view._length < 0 ? null : SequenceRowReader.LengthGetter(inner, inner.Schema[view._length], "scored");
            VBuffer<float> row = default;
            ValueGetter<VBuffer<float>> padded = (ref VBuffer<float> value) =>
            {
                source(ref row);
                view.Pad(row, ref value, inner.Position, steps);
            };
            return (ValueGetter<TValue>)(Delegate)padded;
        }

        public override bool MoveNext() => inner.MoveNext();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
