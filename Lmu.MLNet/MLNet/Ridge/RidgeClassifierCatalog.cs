using Microsoft.ML;

namespace Microsoft.ML;

/// <summary><c>mlContext.MulticlassClassification.Trainers.Ridge(...)</c>.</summary>
public static class RidgeClassifierCatalog
{
    /// <summary>
    /// A ridge classifier whose penalty is chosen by leave-one-out error (see <see cref="RidgeClassifierTrainer"/>);
    /// the companion of <c>LmuPooledFeaturize</c>. Its Fit writes its plan and each penalty's error to the context's Log
    /// (source "RidgeClassifier").
    /// </summary>
    /// <param name="catalog">The multiclass trainers catalog.</param>
    /// <param name="labelColumnName">Label column, a key. Default "Label".</param>
    /// <param name="featureColumnName">Features column, a fixed-size Vector&lt;Single&gt;. Default "Features".</param>
    public static RidgeClassifierTrainer Ridge(
        this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = "Label",
        string featureColumnName = "Features")
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new RidgeClassifierTrainer(new RidgeClassifierOptions { LabelColumnName = labelColumnName, FeatureColumnName = featureColumnName }, MLContextBridge.TempFolderOf(catalog), MLContextBridge.CancellationOf(catalog), MLContextBridge.LogOf(catalog, "RidgeClassifier"));
    }

    /// <summary>The ridge classifier with every option.</summary>
    /// <param name="catalog">The multiclass trainers catalog.</param>
    /// <param name="options">The options; validated and copied.</param>
    public static RidgeClassifierTrainer Ridge(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog, RidgeClassifierOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new RidgeClassifierTrainer(options, MLContextBridge.TempFolderOf(catalog), MLContextBridge.CancellationOf(catalog), MLContextBridge.LogOf(catalog, "RidgeClassifier"));
    }
}
