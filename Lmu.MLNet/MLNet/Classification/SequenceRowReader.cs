using System.Globalization;
using Lmu.MLNet.Data;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Classification;

/// <summary>
/// Reads one row at a time from a cursor: the features as a [T, C] block and the label as a class index (-1 when
/// missing). Without a length column VarVector rows are left-padded with zeros (the last step is always at T-1 and the
/// network needs no lengths); with one they are right-padded, <see cref="ValidSteps"/> gives each row's valid steps, and
/// the padding is zeroed, whatever it holds. Rejects NaN/Infinity in the valid steps, bad VarVector sizes and bad
/// lengths with the column, the row and the value.
/// </summary>
internal sealed class SequenceRowReader
{
    private readonly DataViewRowCursor _cursor;
    private readonly ValueGetter<VBuffer<float>> _features;
    private readonly DataViewSchema.Column _featureColumn;
    private readonly int _declaredSize;
    private readonly Func<int> _label;
    private readonly string _featureName;
    private readonly int _steps;
    private readonly int _channels;
    private readonly string _role;
    private readonly Func<long>? _length;
    private readonly string? _lengthName;
    private readonly bool _channelMajor;
    private VBuffer<float> _buffer;
    private float[] _scratch = [];
    private bool _padded;

    public SequenceRowReader(DataViewRowCursor cursor, ClassifierInputLayout layout, int steps, ClassMap? classes, string role)
    {
        _cursor = cursor;
        _featureName = layout.Features.Name;
        _featureColumn = cursor.Schema[layout.Features.Name];
        _features = cursor.GetGetter<VBuffer<float>>(_featureColumn);
        _declaredSize = Scoring.VectorSizeRule.KnownSize(_featureColumn);
        _steps = steps;
        _channels = layout.Channels;
        _channelMajor = layout.InputLayout == LmuInputLayout.ChannelMajor && layout.Channels > 1;
        _role = role;
        if (layout.Length is { } n)
        {
            _lengthName = n.Name;
            _length = LengthGetter(cursor, cursor.Schema[n.Name]);
        }

        var label = cursor.Schema[layout.Label.Name];
        _label = classes is null ? () => -1 : classes.IndexGetter(cursor, label, role);
        if (layout.LabelKind == ClassifierLabelKind.Value && classes is null)
        {
            ValueText = KeyValueText.ValueGetter(cursor, label);
        }
    }

    /// <summary>For scanning value labels before the classes are known: the label as text (null when missing).</summary>
    public Func<string?>? ValueText { get; }

    /// <summary>0-based position of the current row in this cursor.</summary>
    public long Row => _cursor.Position;

    /// <summary>The current row's class index, -1 for a missing label.</summary>
    public int ClassIndex() => _label();

    /// <summary>
    /// The current row's valid steps, read by <see cref="ReadFeatures"/>: from the length column, checked to lie in [1,
    /// the row's steps]; without one, all of the row's steps.
    /// </summary>
    public int ValidSteps { get; private set; }

    private int ReadLength(int rowSteps)
    {
        var n = _length!();
        if (n < 1 || n > rowSteps)
        {
            throw new InvalidDataException(
                $"Sequence-length column '{_lengthName}', {_role} row {Row}: length {n}; expected a whole number from 1 to {rowSteps} (the row's steps).");
        }

        return (int)n;
    }

    /// <summary>
    /// Copies the current row's features into <paramref name="target"/> (length T*C, step-major whatever the column's
    /// layout), checking every value of its valid steps (padding past a length column's value is zeroed, not checked);
    /// returns the row's number of steps.
    /// </summary>
    public int ReadFeatures(Span<float> target)
    {
        _features(ref _buffer);
        var length = _buffer.Length;
        if (_declaredSize > 0 && length != _declaredSize)
        {
            throw new InvalidDataException(Scoring.VectorSizeRule.SizeMessage(_featureColumn, length, $"Features column '{_featureName}', {_role} row {Row}"));
        }

        if (length % _channels != 0 || length == 0)
        {
            throw new InvalidDataException(
                $"Features column '{_featureName}', {_role} row {Row}: {length} values is not a positive multiple of Channels = {_channels}.");
        }

        var rowSteps = length / _channels;
        if (target.Length > 0 && rowSteps > _steps)
        {
            throw new InvalidDataException(
                $"Features column '{_featureName}', {_role} row {Row}: {rowSteps} steps, more than the sequence length {_steps} the model was built for.");
        }

        // A length column says where the real steps are: first. Without one, a short row's real steps end at T-1.
        var offset = _length is null ? target.Length - length : 0;
        // Steps past a row's length are padding: never checked, and zero in the target whatever they hold. NaN padding
        // (how UCR's variable-length files come) was refused by Fit while the fitted model scored it (numerics QA), and
        // large finite padding reached the FFT form, whose round-off spread it into the real steps.
        ValidSteps = _length is null ? rowSteps : ReadLength(rowSteps);
        _padded = ValidSteps < rowSteps;
        if (target.Length > 0)
        {
            target[..offset].Clear();
            target[(offset + length)..].Clear();
        }

        var values = _buffer.GetValues();
        var indices = _buffer.GetIndices();
        if (_buffer.IsDense)
        {
            for (var i = 0; i < values.Length; i++)
            {
                Check(values[i], i);
            }

            if (target.Length > 0)
            {
                values.CopyTo(target[offset..]);
            }
        }
        else
        {
            if (target.Length > 0)
            {
                target[offset..].Clear();
            }

            for (var j = 0; j < values.Length; j++)
            {
                Check(values[j], indices[j]);
                if (target.Length > 0)
                {
                    target[offset + indices[j]] = values[j];
                }
            }
        }

        if (_channelMajor && target.Length > 0)
        {
            // The row's [C, rowSteps] block sits at offset (a narrower validation column, left-padded without a length
            // column): transposed in place to [rowSteps, C] there; the padding around it stays zero.
            if (_scratch.Length != length) _scratch = new float[length];
            target.Slice(offset, length).CopyTo(_scratch);
            ChannelLayout.Transpose(_scratch, target.Slice(offset, length), _channels, rowSteps);
        }

        if (ValidSteps < rowSteps && target.Length > 0)
        {
            target[(offset + (ValidSteps * _channels))..].Clear();
        }

        return rowSteps;
    }

    /// <summary>The largest magnitude among the valid steps' values read so far (padding is left out).</summary>
    public float LargestMagnitude { get; private set; }

    private void Check(float value, int slot)
    {
        // The slot's step is worked out only for a row with padding (or to name a bad value): this runs for every value.
        if (_padded && StepAndChannel(slot).Step >= ValidSteps)
        {
            return;
        }

        var magnitude = MathF.Abs(value);
        if (magnitude > LargestMagnitude)
        {
            LargestMagnitude = magnitude;
        }

        if (!float.IsFinite(value))
        {
            var (step, channel) = StepAndChannel(slot);
            throw new InvalidDataException(
                string.Create(CultureInfo.InvariantCulture, $"Features column '{_featureName}', {_role} row {Row}, slot {slot} (step {step}, channel {channel}): value {value}; expected a finite number (replace or drop missing values first, e.g. ReplaceMissingValues)."));
        }
    }

    private (int Step, int Channel) StepAndChannel(int slot)
    {
        var steps = _buffer.Length / _channels;
        return _channelMajor ? (slot % steps, slot / steps) : (slot / _channels, slot % _channels);
    }

    private Func<long> LengthGetter(DataViewRowCursor cursor, DataViewSchema.Column column) => LengthGetter(cursor, column, _role, _steps);

    /// <summary>A length column's value as a whole number (a fractional or non-finite Single throws, naming the row).</summary>
    /// <param name="cursor">The cursor the column is read from.</param>
    /// <param name="column">The length column.</param>
    /// <param name="role">Which data, for messages ("training", "validation", "scored").</param>
    /// <param name="maxSteps">The longest a row can be, named in the message (its other length errors name it too; QA).</param>
    /// <param name="owner">The component's name that starts its messages (e.g. "LmuPooledFeaturize"), or null.</param>
    internal static Func<long> LengthGetter(DataViewRowCursor cursor, DataViewSchema.Column column, string role, int? maxSteps = null, string? owner = null)
    {
        var bound = maxSteps is { } m ? $"the row's steps (at most {m})" : "the row's steps";
        var prefix = owner is null ? string.Empty : owner + ": ";
        if (column.Type == NumberDataViewType.Single)
        {
            var get = cursor.GetGetter<float>(column);
            float v = 0;
            return () =>
            {
                get(ref v);
                // A fractional or non-finite length is a data error, not something to round.
                if (!float.IsFinite(v) || v != MathF.Floor(v))
                {
                    throw new InvalidDataException(
                        $"{prefix}Sequence-length column '{column.Name}', {role} row {cursor.Position}: length {v}; expected a whole number from 1 to {bound}.");
                }

                return (long)v;
            };
        }

        if (column.Type == NumberDataViewType.Int32)
        {
            var get = cursor.GetGetter<int>(column);
            int v = 0;
            return () => { get(ref v); return v; };
        }

        if (column.Type == NumberDataViewType.UInt32)
        {
            var get = cursor.GetGetter<uint>(column);
            uint v = 0;
            return () => { get(ref v); return v; };
        }

        var get64 = cursor.GetGetter<long>(column);
        long v64 = 0;
        return () => { get64(ref v64); return v64; };
    }
}
