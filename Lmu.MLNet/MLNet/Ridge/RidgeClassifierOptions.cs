using System.Globalization;
namespace Lmu.MLNet.Ridge;

/// <summary>Options of <see cref="RidgeClassifierTrainer"/>.</summary>
public sealed class RidgeClassifierOptions
{
    private static readonly OptionsGuard Guard = new("RidgeClassifierOptions.");

    /// <summary>The label: a scalar key column (map labels with <c>MapValueToKey</c> first, as for ML.NET's multiclass trainers). Default "Label".</summary>
    public string LabelColumnName { get; set; } = "Label";

    /// <summary>The features: a fixed-size <c>Vector&lt;Single&gt;</c>. Default "Features".</summary>
    public string FeatureColumnName { get; set; } = "Features";

    /// <summary>Output score column: <c>Vector&lt;Single, K&gt;</c> with the class names as SlotNames. Default "Score".</summary>
    public string ScoreColumnName { get; set; } = "Score";

    /// <summary>Output predicted label: a scalar key with the label's KeyValues. Default "PredictedLabel".</summary>
    public string PredictedLabelColumnName { get; set; } = "PredictedLabel";

    /// <summary>
    /// Candidate penalties alpha of <c>(1/n) sum |y - y_hat|^2 + alpha |w|^2</c> on standardised features; the one with
    /// the smallest exact leave-one-out error is used (ties: the first listed). Default: 10 values log-spaced from 1e-3
    /// to 1e3, the grid used with random convolutional features by Dempster et al. 2020 (their penalty on unit-norm
    /// columns is this one).
    /// </summary>
    public IReadOnlyList<double> Alphas { get; set; } = Enumerable.Range(0, 10).Select(i => Math.Pow(10, -3 + (6.0 * i / 9))).ToArray();

    /// <summary>Checks the options; throws <see cref="ArgumentException"/> naming the option.</summary>
    public void Validate()
    {
        Guard.Require(!string.IsNullOrWhiteSpace(LabelColumnName), nameof(LabelColumnName), "must be a column name");
        Guard.Require(!string.IsNullOrWhiteSpace(FeatureColumnName), nameof(FeatureColumnName), "must be a column name");
        Guard.Require(!string.IsNullOrWhiteSpace(ScoreColumnName), nameof(ScoreColumnName), "must be a column name");
        Guard.Require(!string.IsNullOrWhiteSpace(PredictedLabelColumnName), nameof(PredictedLabelColumnName), "must be a column name");
        Guard.Require(ScoreColumnName != PredictedLabelColumnName, nameof(PredictedLabelColumnName), "must differ from ScoreColumnName");
        // The carried graph reads the features and writes the score: the same name in both failed only after the solve,
        // as an invalid ONNX model (found by QA; the LMU classifier's options already refused it).
        Guard.Require(ScoreColumnName != FeatureColumnName, nameof(ScoreColumnName), $"('{ScoreColumnName}') must differ from FeatureColumnName, the column the model reads");
        // An output named as the label hides it, and Evaluate then compares the prediction with itself (QA: accuracy 1.000 for 0.350).
        Guard.Require(ScoreColumnName != LabelColumnName && PredictedLabelColumnName != LabelColumnName, nameof(LabelColumnName),
            $"('{LabelColumnName}') must differ from ScoreColumnName and PredictedLabelColumnName, or the output hides the label that Evaluate reads");
        Guard.Require(Alphas is { Count: > 0 }, nameof(Alphas), "must hold at least one penalty");
        foreach (var a in Alphas!)
        {
            Guard.Require(a > 0 && double.IsFinite(a), nameof(Alphas), string.Create(CultureInfo.InvariantCulture, $"must hold finite values greater than 0 but holds {a}"));
        }
    }

    /// <summary>A copy, so that a trainer is not changed by later edits of the caller's options.</summary>
    internal RidgeClassifierOptions Clone()
    {
        var copy = (RidgeClassifierOptions)MemberwiseClone();
        copy.Alphas = Alphas.ToArray();
        return copy;
    }
}
