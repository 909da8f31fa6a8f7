using Lmu.MLNet.Forecasting;

namespace Lmu.MLNet.Tests.Forecasting;

[TestClass]
public sealed class ForecastEvaluatorTests
{
    [TestMethod]
    public void MetricsMatchHandComputedValues()
    {
        // Errors: outcome A (2, -1), outcome B (0, 3).
        var a = new ForecastOutcome([10, 20], [8, 21], [1, 3, 2, 6]);
        var b = new ForecastOutcome([5, 5], [5, 2], [4, 4, 6, 2]);
        var m = ForecastEvaluator.Evaluate([a, b], seasonality: 2);

        Assert.AreEqual((2 + 1 + 0 + 3) / 4.0, m.MeanAbsoluteError, 1e-12);
        Assert.AreEqual(Math.Sqrt((4 + 1 + 0 + 9) / 4.0), m.RootMeanSquaredError, 1e-12);
        // sMAPE A = 100 (2/18 + 1/41); B = 100 (0 + 3/7); averaged over the two outcomes.
        var smapeA = 100 * (2 / 18.0 + 1 / 41.0);
        var smapeB = 100 * (3 / 7.0);
        Assert.AreEqual((smapeA + smapeB) / 2, m.SymmetricMape, 1e-10);
        // MASE scales, lag 2: A |2-1|,|6-3| -> 2; B |6-4|,|2-4| -> 2. MAE A 1.5, B 1.5 -> 0.75 each.
        Assert.AreEqual(0.75, m.MeanAbsoluteScaledError!.Value, 1e-12);
        // NRMSE: actual values 10, 20, 5, 5: mean 10, population variance (0 + 100 + 25 + 25) / 4 = 37.5.
        Assert.AreEqual(m.RootMeanSquaredError / Math.Sqrt(37.5), m.NormalizedRmse, 1e-12);
        Assert.AreEqual(4, m.Points);
        Assert.AreEqual(2, m.Outcomes);
    }

    [TestMethod]
    public void NrmseKeepsItsPrecisionForLargeValuesOfSmallSpread()
    {
        // Metrics QA: sqrt(E[y^2] - E[y]^2) cancelled at 1e8 + {0, 1, 2, 3} (NRMSE 1.32 for 1.67). Exact here: actual
        // values 1e8 + {0, 1, 2, 3} (population sd sqrt(1.25)), errors 0, 1, 2, 3 (RMSE sqrt(3.5)), across two outcomes.
        var m = ForecastEvaluator.Evaluate([new ForecastOutcome([1e8, 1e8 + 1], [1e8, 1e8]), new ForecastOutcome([1e8 + 2, 1e8 + 3], [1e8, 1e8])]);
        Assert.AreEqual(Math.Sqrt(3.5) / Math.Sqrt(1.25), m.NormalizedRmse, 1e-9);
    }

    [TestMethod]
    public void MaseIsNullWithoutHistoryAndOwaOfNaive2IsOne()
    {
        var m = ForecastEvaluator.Evaluate([new ForecastOutcome([1, 2], [1, 3])]);
        Assert.IsNull(m.MeanAbsoluteScaledError);
        Assert.AreEqual(1.0, ForecastEvaluator.Owa(18.383, 2.395, 18.383, 2.395), 1e-15);
        Assert.AreEqual((9.328 / 18.383 + 0.893 / 2.395) / 2, ForecastEvaluator.Owa(9.328, 0.893, 18.383, 2.395), 1e-15);
    }

    [TestMethod]
    public void BadInputsAreNamed()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => ForecastEvaluator.Evaluate([new ForecastOutcome([1, 2], [1])]));
        StringAssert.Contains(e.Message, "Actual has 2 values and Forecast 1");
        e = Assert.ThrowsExactly<ArgumentException>(() => ForecastEvaluator.Evaluate([new ForecastOutcome([1, double.NaN], [1, 2])]));
        StringAssert.Contains(e.Message, "Actual[1] is NaN");
        e = Assert.ThrowsExactly<ArgumentException>(() => ForecastEvaluator.Evaluate([new ForecastOutcome([1], [1], [1, 2])], seasonality: 2));
        StringAssert.Contains(e.Message, "longer than the seasonality m = 2");
        Assert.ThrowsExactly<ArgumentException>(() => ForecastEvaluator.Evaluate([]));
    }
}
