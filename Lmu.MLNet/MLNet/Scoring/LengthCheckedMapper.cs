using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Scoring;

/// <summary>A row-to-row mapper (what a PredictionEngine scores with) whose input rows' lengths are checked against <see cref="SequenceLengthRule"/>.</summary>
internal sealed class LengthCheckedMapper(IRowToRowMapper inner, SequenceLengthRule rule) : IRowToRowMapper
{
    /// <inheritdoc />
    public DataViewSchema InputSchema => inner.InputSchema;

    /// <inheritdoc />
    public DataViewSchema OutputSchema => inner.OutputSchema;

    /// <inheritdoc />
    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns) => inner.GetDependencies(dependingColumns);

    /// <inheritdoc />
    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns) =>
        inner.GetRow(LengthCheckedView.Row(input, rule), activeColumns);
}
