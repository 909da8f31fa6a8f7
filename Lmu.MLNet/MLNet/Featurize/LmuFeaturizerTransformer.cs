using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Featurize;

/// <summary>
/// The fitted <see cref="LmuFeaturizerEstimator"/>: a chain of ML.NET's own transformers (an OnnxTransformer scoring
/// the memory graph), so <c>mlContext.Model.Save</c> writes it into the .zip and <c>Model.Load</c> gives it back as a
/// <c>TransformerChain&lt;ITransformer&gt;</c> that scores identically and needs no libtorch.
/// </summary>
public sealed class LmuFeaturizerTransformer : OnnxCarriedTransformer
{
    internal LmuFeaturizerTransformer(TransformerChain<ITransformer> inner, LmuFeaturizerOptions options, int sequenceLength, double theta, int outputSize)
        : base(inner)
    {
        Options = options;
        SequenceLength = sequenceLength;
        Theta = theta;
        OutputSize = outputSize;
    }

    /// <summary>The options it was made with (a private copy; SequenceLength and Theta may be null there, see the resolved values).</summary>
    public LmuFeaturizerOptions Options { get; }

    /// <summary>Steps per row, as resolved at Fit.</summary>
    public int SequenceLength { get; }

    /// <summary>Window of the memory in steps, as resolved at Fit.</summary>
    public double Theta { get; }

    /// <summary>Width of the output vector.</summary>
    public int OutputSize { get; }

    private protected override void CheckInputSchema(DataViewSchema schema) => LmuFeaturizerSchema.Check(Options, schema, SequenceLength);
}
