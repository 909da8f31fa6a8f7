using Lmu.MLNet.Samples.PsMnist;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>psmnist --ensemble's accuracy: the mean of the members' probabilities decides, labels are 1-based keys.</summary>
[TestClass]
public sealed class EnsembleScoreTests
{
    [TestMethod]
    public void TheMeanProbabilityDecidesWhereMembersDisagree()
    {
        uint[] labels = [1, 2, 3];
        // Row 0: member A is sure of class 1 (key 1), B leans to class 2; the mean picks key 1 (0.55 vs 0.45).
        // Row 1: A says key 1 narrowly, B says key 2 firmly: the mean picks key 2, right.
        // Row 2: both say key 2, the label is key 3: wrong whatever the weights.
        var a = (new[] { new[] { 0.9f, 0.1f, 0f }, new[] { 0.55f, 0.45f, 0f }, new[] { 0.2f, 0.7f, 0.1f } }, labels);
        var b = (new[] { new[] { 0.2f, 0.8f, 0f }, new[] { 0.1f, 0.9f, 0f }, new[] { 0.1f, 0.6f, 0.3f } }, labels);
        Assert.AreEqual(2.0 / 3, EnsembleScore.Accuracy([a, b]), 1e-12);
        Assert.AreEqual(1.0 / 3, EnsembleScore.Accuracy([a]), 1e-12, "member A alone: rows 0 right, 1 and 2 wrong");
        Assert.AreEqual(1.0 / 3, EnsembleScore.Accuracy([b]), 1e-12, "member B alone: row 1 right, 0 and 2 wrong");
    }

    [TestMethod]
    public void MembersScoringDifferentRowsAreRefused()
    {
        var a = (new[] { new[] { 1f, 0f } }, new uint[] { 1 });
        var b = (new[] { new[] { 1f, 0f }, new[] { 0f, 1f } }, new uint[] { 1, 2 });
        var ex = Assert.ThrowsExactly<ArgumentException>(() => EnsembleScore.Accuracy([a, b]));
        StringAssert.Contains(ex.Message, "same 1 rows");
        Assert.ThrowsExactly<ArgumentException>(() => EnsembleScore.Accuracy([]));
    }
}
