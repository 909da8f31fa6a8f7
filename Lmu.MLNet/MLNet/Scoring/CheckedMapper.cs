using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Scoring;

/// <summary>A row-to-row mapper (what a PredictionEngine scores with) whose input rows' getters apply an <see cref="IGetterCheck"/>.</summary>
internal sealed class CheckedMapper(IRowToRowMapper inner, IGetterCheck check) : IRowToRowMapper
{
    /// <inheritdoc />
    public DataViewSchema InputSchema => inner.InputSchema;

    /// <inheritdoc />
    public DataViewSchema OutputSchema => inner.OutputSchema;

    /// <inheritdoc />
    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns) => inner.GetDependencies(dependingColumns);

    /// <inheritdoc />
    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns) =>
        inner.GetRow(CheckedView.Row(input, check), activeColumns);
}
