using Lmu.MLNet.Samples.Soak;
using Lmu.MLNet.Scoring;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>
/// The shared-engine tests accept two failures besides a score: the library's overlap refusal, and an exception thrown
/// inside ML.NET's own row copying. These pin what each test counts: ML.NET's row-copying types are recognised by
/// their frames, and the library's exceptions and ML.NET's other exceptions are not (they fail the shared-engine tests).
/// The race itself (two threads in ML.NET's output copy) has no deterministic trigger, so the positive case is an
/// exception thrown by the same ML.NET type at engine creation.
/// </summary>
[TestClass]
public sealed class SharedEngineOutcomeTests
{
    private sealed class Row
    {
        [VectorType(3)]
        public float[] Values { get; set; } = [];
    }

    private sealed class WrongPrediction
    {
        // No such column in the data: ML.NET's typed row copier refuses to build a setter for it.
        public float[] Missing { get; set; } = [];
    }

    [TestMethod]
    public void AnExceptionFromMlNetsTypedRowCopierIsCounted()
    {
        var ml = new MLContext(1);
        var view = ml.Data.LoadFromEnumerable(new[] { new Row { Values = [1, 2, 3] } });
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Data.CreateEnumerable<WrongPrediction>(view, reuseRowObject: false).ToList());
        Assert.IsTrue(SharedEngineOutcome.IsMlNetRowCopyRace(e), e.ToString());
        Assert.IsFalse(SharedEngineOutcome.IsOverlapRefusal(e));
    }

    [TestMethod]
    public void TheLibrarysOwnExceptionsAreNotCountedAsMlNetsRace()
    {
        var guard = new ScoringGuard(null, "a test model");
        guard.Close();
        var e = Assert.Throws<ObjectDisposedException>(() => guard.Enter());
        Assert.IsFalse(SharedEngineOutcome.IsMlNetRowCopyRace(e), e.ToString());
        Assert.IsFalse(SharedEngineOutcome.IsOverlapRefusal(e));
    }

    [TestMethod]
    public void MlNetsOtherExceptionsAreNotCountedAsItsRowCopyRace()
    {
        var ml = new MLContext(1);
        var e = Assert.Throws<Exception>(() => ml.Data.LoadFromTextFile<Row>(Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N") + ".csv")));
        Assert.IsFalse(SharedEngineOutcome.IsMlNetRowCopyRace(e), e.ToString());
    }
}
