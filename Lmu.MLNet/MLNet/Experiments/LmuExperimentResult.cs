using Microsoft.ML;

namespace Lmu.MLNet.Experiments;

/// <summary>What an <see cref="LmuClassificationExperiment"/> returns.</summary>
public sealed class LmuExperimentResult
{
    internal LmuExperimentResult(IReadOnlyList<LmuTrialResult> trials, LmuTrialResult bestTrial, ITransformer model, IReadOnlyList<string> classNames, TimeSpan searchTime, TimeSpan refitTime)
    {
        ClassNames = classNames;
        Trials = trials;
        BestTrial = bestTrial;
        Model = model;
        SearchTime = searchTime;
        RefitTime = refitTime;
    }

    /// <summary>Every trial in start order, including failed and stopped ones.</summary>
    public IReadOnlyList<LmuTrialResult> Trials { get; }

    /// <summary>
    /// The best completed trial among the most fully trained ones (networks at the highest rung reached; a pooled-memory
    /// trial counts as fully trained), by the metric; ties: the earlier trial.
    /// </summary>
    public LmuTrialResult BestTrial { get; }

    /// <summary>
    /// The best model as an ML.NET transformer (the user's prefix, then either the LMU network carried by ONNX or the
    /// pooled featurizer and ridge classifier, each carried by ONNX, refitted on all training rows unless
    /// <see cref="LmuExperimentSettings.RefitOnAllData"/> is off or a validation set was given): reads the features
    /// column, writes <c>Score</c> (Vector&lt;Single, K&gt; with slot names) and <c>PredictedLabel</c> in the label's own
    /// values. As AutoML's best model does, it starts by mapping a text label column to keys (so that column must be in
    /// the data it scores, and Evaluate works on the raw schema) and ends by mapping PredictedLabel back. Save it with
    /// <c>mlContext.Model.Save</c>; loading and scoring need no libtorch.
    /// </summary>
    public ITransformer Model { get; }

    /// <summary>Class labels in key order (slot k of Score is ClassNames[k]; PredictedLabel key k+1).</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>
    /// ML.NET multiclass metrics of <see cref="Model"/> on <paramref name="data"/> in the training data's schema: the
    /// model maps a text label to keys itself, so this is <c>mlContext.MulticlassClassification.Evaluate(Model.Transform(data))</c>
    /// (labels unknown to the model count as errors).
    /// </summary>
    public Microsoft.ML.Data.MulticlassClassificationMetrics Evaluate(MLContext mlContext, IDataView data, string labelColumnName = "Label")
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return mlContext.MulticlassClassification.Evaluate(Model.Transform(data), labelColumnName);
    }

    /// <summary>Wall time of the search.</summary>
    public TimeSpan SearchTime { get; }

    /// <summary>Wall time of the final refit (zero when none).</summary>
    public TimeSpan RefitTime { get; }
}
