using Microsoft.ML;

namespace Lmu.MLNet;

/// <summary>The elements of a fitted or loaded model: nested chains (a pipeline's own chains inside it) opened, in order.</summary>
internal static class TransformerElements
{
    /// <summary>Every non-chain transformer of <paramref name="model"/>, depth first.</summary>
    public static IEnumerable<ITransformer> Of(ITransformer model) =>
        model is IEnumerable<ITransformer> chain ? chain.SelectMany(Of) : [model];
}
