using Lmu.MLNet.Forecasting;
using Lmu.MLNet.Modules;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.Forecasting;

/// <summary>Forecast rows as scalar (Label, Score) rows: ML.NET's regression metrics agree with ForecastEvaluator.</summary>
[TestClass]
public sealed class ForecastRegressionRowsTests
{
    [TestMethod]
    public void RegressionEvaluateMatchesForecastEvaluatorPooledAndPerStep()
    {
        var model = ForecastTestModels.Create(HiddenCell.Dense, 1, LmuForecastScaling.PerWindow);
        var (values, covs) = ForecastTestModels.Series(80, 1);
        var ml = new MLContext(1);
        var windows = LmuForecastWindows.FromSeries(SeriesView.Create(ml, values, covs), "Value", model.WindowSize, model.Horizon, model.CovariateColumns);
        using var chain = LmuForecastEstimator.CreateChain(ml, model);
        var scored = chain.Transform(windows);
        var labels = scored.GetColumn<float[]>("Label").ToArray();
        var forecasts = scored.GetColumn<float[]>("Forecast").ToArray();

        var rows = ForecastRegressionRows.Create(scored);
        Assert.AreEqual(labels.Length * model.Horizon, rows.GetColumn<float>("Label").Count());
        CollectionAssert.AreEqual(labels.SelectMany(l => l).ToArray(), rows.GetColumn<float>("Label").ToArray(), "row-major: row, then step");
        CollectionAssert.AreEqual(forecasts.SelectMany(f => f).ToArray(), rows.GetColumn<float>("Score").ToArray());
        var pooled = ml.Regression.Evaluate(rows);
        var ours = ForecastEvaluator.Evaluate(labels.Select((l, i) => new ForecastOutcome(D(l), D(forecasts[i]))));
        AssertSame(ours, pooled, "pooled");

        for (var h = 1; h <= model.Horizon; h++)
        {
            var step = ml.Regression.Evaluate(ForecastRegressionRows.Create(scored, horizonStep: h));
            var k = h - 1;
            var expected = ForecastEvaluator.Evaluate(labels.Select((l, i) => new ForecastOutcome([l[k]], [forecasts[i][k]])));
            AssertSame(expected, step, $"step {h}");
        }

        // The steps differ (the forecast degrades with the horizon on this random-weight model), so a per-step view that
        // ignored horizonStep would not pass the loop above.
        var maes = Enumerable.Range(1, model.Horizon).Select(h => ml.Regression.Evaluate(ForecastRegressionRows.Create(scored, horizonStep: h)).MeanAbsoluteError).ToArray();
        Assert.AreEqual(model.Horizon, maes.Distinct().Count());
    }

    [TestMethod]
    public void TheRowsHoldOneFloatPerValue()
    {
        // 100,000 rows of horizon 4 give 400,000 scalar rows. Reading them as three float[1] arrays a row allocated
        // 96 bytes a row and more on the way (2.3 GB for a million windows of 24 steps); three floats take 12.
        const int rows = 100_000, horizon = 4;
        var vectors = Enumerable.Range(0, rows).Select(i => Enumerable.Range(0, horizon).Select(h => (float)(i + h)).ToArray()).ToArray();
        var scored = new FloatColumnsDataView([("Label", horizon, vectors), ("Forecast", horizon, vectors)]);
        var before = GC.GetAllocatedBytesForCurrentThread();

        var scalar = ForecastRegressionRows.Create(scored);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.AreEqual(rows * horizon, scalar.GetRowCount());
        Bound.Below(16L * rows * horizon, allocated);
        var steps = scalar.GetColumn<float>(ForecastRegressionRows.StepColumnName).Take(2 * horizon).ToArray();
        CollectionAssert.AreEqual(new float[] { 1, 2, 3, 4, 1, 2, 3, 4 }, steps);
        Assert.AreEqual(rows - 1f + horizon - 1f, scalar.GetColumn<float>(ForecastRegressionRows.LabelColumnName).Last());
        GC.KeepAlive(scalar);
    }

    [TestMethod]
    public void BadColumnsAndStepsAreNamed()
    {
        var model = ForecastTestModels.Create(HiddenCell.Dense, 0, LmuForecastScaling.Global);
        var ml = new MLContext(1);
        var windows = LmuForecastWindows.FromSeries(SeriesView.Create(ml, ForecastTestModels.Series(30, 0).Values, []), "Value", model.WindowSize, model.Horizon);
        using var chain = LmuForecastEstimator.CreateChain(ml, model);
        var scored = chain.Transform(windows);
        var e = Assert.ThrowsExactly<ArgumentException>(() => ForecastRegressionRows.Create(scored, horizonStep: 4));
        StringAssert.Contains(e.Message, "horizonStep = 4 must be in 1..3");
        e = Assert.ThrowsExactly<ArgumentException>(() => ForecastRegressionRows.Create(scored, labelColumn: "Missing"));
        StringAssert.Contains(e.Message, "label column 'Missing' is not in the data");
        e = Assert.ThrowsExactly<ArgumentException>(() => ForecastRegressionRows.Create(scored, labelColumn: "Window"));
        StringAssert.Contains(e.Message, "expected Vector<Single, 3>");
    }

    private static void AssertSame(ForecastMetrics expected, RegressionMetrics actual, string what)
    {
        // The same float32 values summed in float64 by both (equal to the last bit in practice); 1e-6 relative leaves room
        // for ML.NET forming label - score in float32 (half an ulp, ~6e-8 relative, per point) in another version.
        Assert.AreEqual(expected.MeanAbsoluteError, actual.MeanAbsoluteError, 1e-6 * expected.MeanAbsoluteError, $"{what} MAE");
        Assert.AreEqual(expected.RootMeanSquaredError, actual.RootMeanSquaredError, 1e-6 * expected.RootMeanSquaredError, $"{what} RMSE");
        Console.WriteLine($"{what}: MAE {expected.MeanAbsoluteError:R} vs {actual.MeanAbsoluteError:R}, RMSE {expected.RootMeanSquaredError:R} vs {actual.RootMeanSquaredError:R}");
    }

    private static double[] D(float[] a) => a.Select(v => (double)v).ToArray();
}
