using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Onnx;

namespace Lmu.MLNet.Scoring;

/// <summary>
/// Puts the ONNX scorers of a loaded model (ML.NET's OnnxTransformers, which own ONNX Runtime sessions) behind guards, in a TransformerChain of the same elements and scopes: the result is still ML.NET's own chain type
/// (casts, <c>LastTransformer</c>, permutation feature importance work as on a plain load), and disposing it while
/// other threads score is safe.
/// </summary>
internal static class GuardedChain
{
    private static readonly TransformerScope[] Scopes = [TransformerScope.Training, TransformerScope.Testing, TransformerScope.Scoring];

    /// <summary>
    /// The model with each ONNX scorer guarded; nested chains are rebuilt the same way. Only OnnxTransformers: ML.NET's
    /// prediction transformers are disposable too, and wrapping them hid the trainer's type (LastTransformer, PFI,
    /// casts to MulticlassPredictionTransformer) behind ours (found by review).
    /// </summary>
    public static ITransformer Guard(ITransformer model, string name) => model switch
    {
        TransformerChain<ITransformer> chain => Rebuild(chain, name),
        OnnxTransformer => new GuardedTransformer(model, name),
        _ => model,
    };

    private static TransformerChain<ITransformer> Rebuild(TransformerChain<ITransformer> chain, string name)
    {
        var elements = chain.ToArray();
        // The chain keeps each element's scope privately; GetModelFor(scope) returns the same element objects, so each
        // element's scope is the union of the scopes whose model holds it.
        var members = Scopes.Select(s => (Scope: s, Elements: chain.GetModelFor(s).ToHashSet(ReferenceEqualityComparer.Instance))).ToArray();
        var scopes = elements.Select(e => members.Where(m => m.Elements.Contains(e)).Aggregate(TransformerScope.None, (scope, m) => scope | m.Scope)).ToArray();
        return new TransformerChain<ITransformer>(elements.Select(e => Guard(e, name)).ToArray(), scopes);
    }
}
