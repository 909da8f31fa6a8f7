using Microsoft.ML;

namespace Lmu.MLNet.Experiments;

/// <summary>What an <see cref="LmuClassificationExperiment"/> returns.</summary>
public sealed class LmuExperimentResult
{
    internal LmuExperimentResult(
        IReadOnlyList<LmuTrialResult> trials, LmuTrialResult bestTrial, LmuExperimentSelection selection, ITransformer model, IReadOnlyList<string> classNames, TimeSpan searchTime, TimeSpan refitTime)
    {
        DefaultTrial = selection.Default;
        BestChallenger = selection.Challenger;
        ImprovementOverDefault = selection.Improvement;
        ImprovementStandardError = selection.ImprovementStandardError;
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
    /// The selected trial: <see cref="DefaultTrial"/> unless <see cref="BestChallenger"/> beat it by more than
    /// <see cref="LmuExperimentSettings.SelectionStandardErrors"/> standard errors on the same folds; without a default,
    /// the best finalist (or, when none finished the final rung, the best completed trial among the most fully trained
    /// ones by the metric; ties: the earlier trial).
    /// </summary>
    public LmuTrialResult BestTrial { get; }

    /// <summary>
    /// Trial 0, the fixed pooled + ridge default (<see cref="LmuPooledRidgeConfiguration.Default"/>) evaluated on every
    /// fold; null when it did not run (<see cref="LmuExperimentSettings.StartWithDefault"/> off, the pooled family not
    /// searched or left out above its row limit) or failed. When the budget stopped it before its folds were done and
    /// nothing else completed, it is still the model (Status <see cref="LmuTrialStatus.StoppedByBudget"/>, no metric):
    /// with no evidence against the default, the default is kept.
    /// </summary>
    public LmuTrialResult? DefaultTrial { get; }

    /// <summary>True when <see cref="BestTrial"/> is <see cref="DefaultTrial"/>: no challenger beat it by more than the noise.</summary>
    public bool DefaultKept => DefaultTrial is not null && ReferenceEquals(BestTrial, DefaultTrial);

    /// <summary>
    /// The strongest challenger compared with the default: the finalist with the best metric over the same folds (its
    /// final-rung trial); null when there is no default or no challenger finished the final rung. It is
    /// <see cref="BestTrial"/> when the default was replaced.
    /// </summary>
    public LmuTrialResult? BestChallenger { get; }

    /// <summary>
    /// Mean over the shared folds of <see cref="BestChallenger"/>'s metric minus the default's, signed so that positive
    /// means the challenger is better (for log-loss: the default's minus the challenger's); null without both.
    /// </summary>
    public double? ImprovementOverDefault { get; }

    /// <summary>
    /// Standard error of <see cref="ImprovementOverDefault"/>: the paired per-fold differences' standard deviation times
    /// <c>sqrt(1/J + n_valid/n_train)</c> (Nadeau and Bengio's correction for overlapping folds); null with one fold.
    /// </summary>
    public double? ImprovementStandardError { get; }

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
