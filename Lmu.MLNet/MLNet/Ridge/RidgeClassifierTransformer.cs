using Lmu.MLNet.Classification;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Ridge;

/// <summary>
/// The fitted <see cref="RidgeClassifierTrainer"/>: ML.NET's own chain (an OnnxTransformer scoring the linear graph,
/// then the key mapping of the predicted class), so it saves in the .zip and reloads as a plain
/// <c>TransformerChain&lt;ITransformer&gt;</c>.
/// </summary>
/// <remarks>
/// <see cref="OnnxCarriedTransformer.ExportOnnx"/> / <see cref="OnnxCarriedTransformer.SaveOnnx"/> write the carried
/// linear graph (opset 17 + ai.onnx.ml) with the standalone classifier's plain output names, one row per run (no batch
/// axis, as ML.NET feeds it). Input: <see cref="FeatureColumnName"/> float [<see cref="FeatureCount"/>]. Outputs:
/// <c>Score</c> softmax float [K] (K = <see cref="Classes"/>.Count, in that order); <c>PredictedIndex</c> int64 [1]
/// (0-based; -1 where the scores are NaN); <c>PredictedLabel</c> string [1] (the class name; empty where the scores
/// are NaN). An extra int64 [1, 1] output <c>mlnet.Score.unusedOutput</c> only carries the class names for ML.NET
/// (ignore it).
/// </remarks>
public sealed class RidgeClassifierTransformer : OnnxCarriedTransformer, ISingleFeaturePredictionTransformer<RidgeClassifierTransformer>
{
    internal RidgeClassifierTransformer(
        TransformerChain<ITransformer> inner, RidgeClassifierOptions options, double alpha, IReadOnlyList<double> errors, IReadOnlyList<string> classes, double[] means, double[,] weights, double[] bias)
        : base(inner)
    {
        Options = options;
        Alpha = alpha;
        LeaveOneOutErrors = errors;
        Classes = classes;
        Means = means;
        Weights = weights;
        Bias = bias;
    }

    /// <summary>The options it was trained with (a private copy).</summary>
    public RidgeClassifierOptions Options { get; }

    /// <summary>The penalty chosen by leave-one-out error.</summary>
    public double Alpha { get; }

    /// <summary>Mean squared leave-one-out error of each candidate in <see cref="RidgeClassifierOptions.Alphas"/>, in order.</summary>
    public IReadOnlyList<double> LeaveOneOutErrors { get; }

    /// <summary>Class names in Score-slot order.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>The features column it reads (with <see cref="FeatureColumnType"/>, what ML.NET's PermutationFeatureImportance needs).</summary>
    public string FeatureColumnName => Options.FeatureColumnName;

    /// <summary>Vector&lt;Single, FeatureCount&gt;.</summary>
    public DataViewType FeatureColumnType => new VectorDataViewType(NumberDataViewType.Single, FeatureCount);

    /// <summary>The transformer is its own model: penalty, classes and feature count are on it.</summary>
    RidgeClassifierTransformer IPredictionTransformer<RidgeClassifierTransformer>.Model => this;

    /// <summary>Width of the features vector it reads.</summary>
    public int FeatureCount => Weights.GetLength(0);

    /// <summary>Training mean of each feature [p], subtracted first, float64.</summary>
    internal double[] Means { get; }

    /// <summary>Decision weights [p, K] on the centred features (the scale folded in), float64.</summary>
    internal double[,] Weights { get; }

    /// <summary>Decision bias [K], float64.</summary>
    internal double[] Bias { get; }

    // The carried graph built again with the classifier's export names instead of ML.NET's internal index column.
    internal override byte[] StandaloneOnnx() => RidgeClassifierGraph.Build(
        FeatureColumnName,
        Means,
        Weights,
        Bias,
        new Onnx.LmuOnnxClassifierOutputs { ClassNames = Classes, ScoreName = "Score", PredictedIndexName = "PredictedIndex", PredictedClassName = "PredictedLabel" });

    private protected override void CheckInputSchema(DataViewSchema schema)
    {
        // The carried chain's own column names (as the classifier's): a user column of such a name was dropped from the
        // output without a word (found by QA for the classifier).
        ClassifierInputLayout.RefuseReservedNames(schema.Where(c => !c.IsHidden).Select(c => c.Name), Options.FeatureColumnName, nameof(schema), "RidgeClassifier");
        var column = schema.GetColumnOrNull(Options.FeatureColumnName)
                     ?? throw new ArgumentOutOfRangeException(nameof(schema), $"RidgeClassifier: features column '{Options.FeatureColumnName}' not found; the data has: {string.Join(", ", schema.Select(c => c.Name))}.");
        if (column.Type is not VectorDataViewType vector || vector.ItemType != NumberDataViewType.Single || vector.Size != FeatureCount)
        {
            throw new ArgumentOutOfRangeException(
                nameof(schema), $"RidgeClassifier: features column '{Options.FeatureColumnName}' must be Vector<Single, {FeatureCount}> but is {column.Type}.");
        }
    }
}
