using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Scoring;

/// <summary>A model's row-to-row mapper (what a PredictionEngine scores with) whose rows run inside its <see cref="ScoringGuard"/>.</summary>
internal sealed class GuardedRowToRowMapper(IRowToRowMapper inner, ScoringGuard guard) : IRowToRowMapper
{
    /// <inheritdoc />
    public DataViewSchema InputSchema => inner.InputSchema;

    /// <inheritdoc />
    public DataViewSchema OutputSchema => inner.OutputSchema;

    /// <inheritdoc />
    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns) => inner.GetDependencies(dependingColumns);

    /// <inheritdoc />
    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
    {
        using var entry = guard.Enter();
        return new GuardedRow(inner.GetRow(input, activeColumns), guard);
    }
}
