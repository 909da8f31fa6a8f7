using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Onnx;

namespace Lmu.MLNet.Scoring;

/// <summary>
/// One element of a loaded model (ML.NET's OnnxTransformer, say) behind a <see cref="ScoringGuard"/>: disposing it
/// while PredictionEngines or cursors score only refuses new calls, and the element is released after the running
/// ones (open cursors included) are done. It saves as the element itself, so a zip saved from it loads with plain
/// <c>mlContext.Model.Load</c>.
/// </summary>
internal sealed class GuardedTransformer : ITransformer, IDisposable
{
    // The column names an OnnxTransformer reads: internal in ML.NET 6.0 (the version this library pins); when a later
    // version renames it, the check below is skipped and ML.NET's own error remains.
    private static readonly PropertyInfo? OnnxInputs = typeof(OnnxTransformer).GetProperty("Inputs", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public);

    private readonly ITransformer _inner;
    private readonly ScoringGuard _guard;

    public GuardedTransformer(ITransformer inner, string name)
    {
        _inner = inner;
        _guard = new ScoringGuard(inner as IDisposable, name);
    }

    /// <summary>The transformer it guards (for inspection only: calls on it bypass the guard).</summary>
    internal ITransformer Inner => _inner;

    /// <summary>The guard (tests).</summary>
    internal ScoringGuard Guard => _guard;

    /// <inheritdoc />
    public bool IsRowToRowMapper => _inner.IsRowToRowMapper;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        _guard.ThrowIfClosed();
        RefuseVariableSizes(inputSchema);
        return Clarified(() => _inner.GetOutputSchema(inputSchema));
    }

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        using var entry = _guard.Enter();
        RefuseVariableSizes(inputSchema);
        // Input vectors are held to their declared size: ONNX Runtime's shape error names no column.
        return new GuardedRowToRowMapper(new CheckedMapper(Clarified(() => _inner.GetRowToRowMapper(inputSchema)), VectorSizeRule.Instance), _guard);
    }

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var entry = _guard.Enter();
        RefuseVariableSizes(input.Schema);
        return new GuardedDataView(Clarified(() => _inner.Transform(new CheckedView(input, VectorSizeRule.Instance))), _guard);
    }

    /// <inheritdoc />
    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        using var entry = _guard.Enter();
        _inner.Save(ctx);
    }

    /// <summary>
    /// A variable-size vector where the ONNX scorer reads one: ML.NET's OnnxTransformer takes the schema and fails on the
    /// first row with "Splitter/consolidator worker ... Index was out of range", naming nothing (found by QA with a
    /// classifier fitted on variable-size rows, which pads them only in its own Transform, and saved by Model.Save).
    /// </summary>
    private void RefuseVariableSizes(DataViewSchema schema)
    {
        if (_inner is not OnnxTransformer || OnnxInputs?.GetValue(_inner) is not string[] inputs)
        {
            return;
        }

        foreach (var name in inputs)
        {
            if (schema.GetColumnOrNull(name) is { IsHidden: false, Type: VectorDataViewType { IsKnownSize: false } vector })
            {
                throw new ArgumentOutOfRangeException(
                    nameof(schema),
                    $"Column '{name}' is a {vector} of variable size; this loaded model scores fixed-size vectors. Pad every row to the size the model " +
                    "was fitted on (the Vector<Single, N> of the input schema saved with it). A zip carries only the scoring graph: an LMU classifier " +
                    "fitted on variable-size rows pads them on the left in its own Transform, not in the zip.");
            }
        }
    }

    /// <summary>
    /// ML.NET's refusal of a column's type in its own words, said plainly: "Schema mismatch for input column 'Features':
    /// expected Single, got Vector&lt;Double, 16&gt;" read as if a scalar were wanted, where the graph reads a vector of
    /// Single (types QA). The column, its type, what the model reads and the conversion that fixes it.
    /// </summary>
    private static T Clarified<T>(Func<T> call)
    {
        try
        {
            return call();
        }
        catch (ArgumentOutOfRangeException e) when (SchemaMismatch.Match(e.Message) is { Success: true } m)
        {
            var (name, expected, got) = (m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value);
            var kind = Enum.TryParse<DataKind>(expected, out var k) ? k.ToString() : null;
            throw new ArgumentOutOfRangeException(
                e.ParamName,
                // ML.NET names only the item type, for a scalar and a vector alike: the shape is the saved schema's.
                $"Column '{name}' has type {got}; this loaded model reads {expected} values there (in the shape of the input schema saved with it)" +
                (kind is null ? "." : $": convert the column first, e.g. mlContext.Transforms.Conversion.ConvertType(\"{name}\", outputKind: DataKind.{kind})."));
        }
    }

    private static readonly System.Text.RegularExpressions.Regex SchemaMismatch =
        new(@"^Schema mismatch for input column '(.+)': expected (\w+), got (.+?)(?: \(Parameter '[^']*'\))?$", System.Text.RegularExpressions.RegexOptions.Singleline);

    /// <summary>Refuses new calls; the element is released once running calls and open cursors are done.</summary>
    public void Dispose() => _guard.Close();
}
