using System.Globalization;
using System.Numerics;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Scoring;

/// <summary>
/// The rule every scoring path of a model with a sequence-length column holds each row to: a whole number from 1 to
/// the model's sequence length T. Why at scoring: the carried graph answers NaN for such a row (before 2026-12-06 it
/// truncated and clamped the length and scored plausible numbers; found by QA), an exception names it; training refuses
/// such rows.
/// </summary>
/// <param name="Column">The length column's name.</param>
/// <param name="Steps">The model's sequence length T.</param>
/// <param name="Component">What scores (named first in messages).</param>
internal sealed record SequenceLengthRule(string Column, int Steps, string Component) : IGetterCheck
{
    /// <summary>The length column's getter checking each value it reads (Single, Int32, UInt32 or Int64); other columns' getters unchanged.</summary>
    public ValueGetter<TValue> Wrap<TValue>(DataViewSchema.Column column, ValueGetter<TValue> getter, Func<long> position) =>
        column.IsHidden || column.Name != Column
            ? getter
            : getter switch
            {
                ValueGetter<float> g => (ValueGetter<TValue>)(Delegate)Checked(g, position),
                ValueGetter<int> g => (ValueGetter<TValue>)(Delegate)Checked(g, position),
                ValueGetter<uint> g => (ValueGetter<TValue>)(Delegate)Checked(g, position),
                ValueGetter<long> g => (ValueGetter<TValue>)(Delegate)Checked(g, position),
                _ => getter,
            };

    /// <summary>Throws <see cref="InvalidDataException"/> naming the column, the row and the rule unless <paramref name="value"/> holds.</summary>
    public void Check(double value, long position)
    {
        if (!(value >= 1 && value <= Steps && value == Math.Floor(value)))
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"{Component}: sequence-length column '{Column}', row {position}: expected a whole number from 1 to {Steps} (the model's sequence length) but found {value}."));
        }
    }

    // Generic over the number type so no value is boxed per row.
    private ValueGetter<T> Checked<T>(ValueGetter<T> getter, Func<long> position)
        where T : INumberBase<T> =>
        (ref T value) =>
        {
            getter(ref value);
            Check(double.CreateTruncating(value), position());
        };
}
