using Microsoft.ML;

namespace Lmu.MLNet.Tests.MLNet.Classification;

/// <summary>
/// ML.NET's PermutationFeatureImportance accepts the fitted LMU classifier and the ridge (they are single-feature
/// prediction transformers): one importance per slot of the features vector. The delayed-pattern rows carry their
/// class in steps 0-11 only (a 4-step pattern starting at 0-7) and noise after, so permuting an early step must cost
/// accuracy and permuting a late one must not.
/// </summary>
[TestClass]
public sealed class PermutationFeatureImportanceTests : ClassifierTestBase
{
    [TestMethod]
    public void TheClassifiersImportancesArePerStepAndPointAtThePattern()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var (train, map) = ClassifierSetup.Keyed(ml, ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(450, 1)));
        using var model = ml.MulticlassClassification.Trainers.Lmu(ClassifierSetup.Parallel()).Fit(train);
        var test = map.Transform(ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(150, 2)));

        var importance = ml.MulticlassClassification.PermutationFeatureImportance(model, test, permutationCount: 2);

        Assert.HasCount(DelayedPatternData.Steps, importance, "one entry per time step");
        var drop = importance.Select(m => -m.MicroAccuracy.Mean).ToArray();
        var early = drop.Take(12).Max();
        var late = drop.Skip(12).Max();
        Assert.IsGreaterThan(0.05, early, $"permuting a pattern step should cost accuracy; drops {string.Join(", ", drop.Select(d => d.ToString("F3")))}");
        Bound.Below(early / 2, late, "noise steps matter far less than pattern steps");
    }

    [TestMethod]
    public void TheRidgeWorksWithPermutationFeatureImportanceToo()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var (train, _) = ClassifierSetup.Keyed(ml, ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(300, 3)));
        using var model = ml.MulticlassClassification.Trainers.Ridge(featureColumnName: "Features").Fit(train);
        var importance = ml.MulticlassClassification.PermutationFeatureImportance(model, train, permutationCount: 1);
        Assert.HasCount(DelayedPatternData.Steps, importance);
        Assert.IsTrue(importance.Any(m => m.MicroAccuracy.Mean < 0), "some step must matter to a linear model of these rows");
    }
}
