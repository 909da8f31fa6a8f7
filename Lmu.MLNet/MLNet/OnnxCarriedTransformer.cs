using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet;

/// <summary>
/// Base of the fitted LMU transformers: each holds a chain of ML.NET's own transformers (an OnnxTransformer scoring
/// the graph we wrote, plus built-in post-processing) and delegates to it, checking the input schema first so errors
/// name our columns instead of ONNX Runtime's inputs. Saving writes that chain, so <c>mlContext.Model.Load</c> returns
/// a plain <c>TransformerChain&lt;ITransformer&gt;</c> that scores with the same engine and needs no libtorch.
/// </summary>
public abstract class OnnxCarriedTransformer : ITransformer, IDisposable
{
    private readonly TransformerChain<ITransformer> _chain;

    private protected OnnxCarriedTransformer(TransformerChain<ITransformer> chain) => _chain = chain;

    /// <inheritdoc />
    public bool IsRowToRowMapper => ((ITransformer)_chain).IsRowToRowMapper;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        CheckInputSchema(inputSchema);
        return _chain.GetOutputSchema(inputSchema);
    }

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        CheckInputSchema(inputSchema);
        return ((ITransformer)_chain).GetRowToRowMapper(inputSchema);
    }

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckInputSchema(input.Schema);
        return _chain.Transform(input);
    }

    /// <summary>Saves ML.NET's own chain, so loading never needs this type.</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) => ((ICanSaveModel)_chain).Save(ctx);

    /// <summary>Releases the ONNX Runtime session.</summary>
    public void Dispose()
    {
        _chain.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Throws a clear exception (column, expected, actual) when <paramref name="schema"/> cannot be scored.</summary>
    private protected abstract void CheckInputSchema(DataViewSchema schema);
}
