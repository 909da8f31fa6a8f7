using Microsoft.ML;

namespace Lmu.MLNet.Scoring;

/// <summary>A check that scoring applies to the values a getter reads (a row's sequence length, a vector's size).</summary>
internal interface IGetterCheck
{
    /// <summary>
    /// <paramref name="getter"/> with the check applied to each value it reads (<paramref name="position"/> names the row
    /// in messages), or <paramref name="getter"/> itself when the check does not concern <paramref name="column"/>.
    /// </summary>
    ValueGetter<TValue> Wrap<TValue>(DataViewSchema.Column column, ValueGetter<TValue> getter, Func<long> position);
}
