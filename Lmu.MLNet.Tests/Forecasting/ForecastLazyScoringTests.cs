using Lmu.MLNet.Forecasting;
using Lmu.MLNet.Modules;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.Forecasting;

/// <summary>
/// The sliding-window views cut windows while they are read (FromSeries, Score's model input) and Score runs the model
/// while its result is read: a million-point series took 1.4 GB when every window and forecast was built first (QA).
/// </summary>
[TestClass]
public sealed class ForecastLazyScoringTests
{
    private const int T = ForecastTestModels.Window;

    [TestMethod]
    public void FromSeriesWindowsCovariatesAndLabelsEqualHandCutSlices()
    {
        const int horizon = 4;
        var a = ForecastTestModels.Series(30, 2, seed: 1);
        var b = ForecastTestModels.Series(T + horizon, 2, seed: 2); // exactly one window
        (string Id, float[] Values, float[][] Covs)[] series = [("a", a.Values, a.Covariates), ("b", b.Values, b.Covariates)];
        var data = new ForecastRowsDataView([
            ("Id", TextDataViewType.Instance, series.SelectMany(s => Enumerable.Repeat(s.Id, s.Values.Length)).ToArray()),
            ("Value", NumberDataViewType.Single, series.SelectMany(s => s.Values).ToArray()),
            ("Cov0", NumberDataViewType.Single, series.SelectMany(s => s.Covs[0]).ToArray()),
            ("Cov1", NumberDataViewType.Single, series.SelectMany(s => s.Covs[1]).ToArray())]);

        var view = LmuForecastWindows.FromSeries(data, "Value", T, horizon, ["Cov0", "Cov1"], "Id", windowColumn: "W", labelColumn: "L");

        CollectionAssert.AreEqual(new[] { "W", "Cov0", "Cov1", "L" }, view.Schema.Select(c => c.Name).ToArray());
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Single, horizon), view.Schema["L"].Type);
        var windows = view.GetColumn<float[]>("W").ToArray();
        var cov1 = view.GetColumn<float[]>("Cov1").ToArray();
        var labels = view.GetColumn<float[]>("L").ToArray();
        var expected = series.Sum(s => s.Values.Length - T - horizon + 1);
        Assert.AreEqual(expected, view.GetRowCount());
        Assert.HasCount(expected, windows);
        var row = 0;
        foreach (var (id, values, covs) in series)
        {
            for (var end = T - 1; end + horizon < values.Length; end++, row++)
            {
                CollectionAssert.AreEqual(values[(end - T + 1)..(end + 1)], windows[row], $"{id} window ending at {end}");
                CollectionAssert.AreEqual(covs[1][(end - T + 1)..(end + 1)], cov1[row], $"{id} Cov1 ending at {end}");
                CollectionAssert.AreEqual(values[(end + 1)..(end + 1 + horizon)], labels[row], $"{id} label after {end}");
            }
        }

        Assert.AreEqual(expected, row);
    }

    [TestMethod]
    public void ScoringHoldsTheSeriesNotItsWindowsOrForecasts()
    {
        // 200,000 points: every window and forecast built first kept about 190 bytes a point (12 floats of window
        // and 3 x 3 of forecast and bounds, with two arrays' headers); the series itself takes 8 (one double).
        const int points = 200_000;
        var model = ForecastTestModels.Create(HiddenCell.Dense, 0, LmuForecastScaling.PerWindow);
        using var transformer = ForecastTimeSeriesEngineTests.Transformer(model);
        var rng = new Random(5);
        var values = Enumerable.Range(0, points).Select(i => (float)(Math.Sin(i * 0.1) + 0.1 * rng.NextDouble())).ToArray();
        var rows = new ForecastRowsDataView([("Value", NumberDataViewType.Single, values)]);
        var before = GC.GetTotalMemory(forceFullCollection: true);

        var scored = LmuForecastWindows.Score(transformer, rows, "Value");
        var afterScore = GC.GetTotalMemory(forceFullCollection: true) - before;

        long whileReading = 0;
        var read = 0;
        using (var cursor = scored.GetRowCursor([scored.Schema["Forecast"]]))
        {
            var getter = cursor.GetGetter<VBuffer<float>>(scored.Schema["Forecast"]);
            var forecast = default(VBuffer<float>);
            while (cursor.MoveNext())
            {
                getter(ref forecast);
                if (++read == points / 2)
                {
                    whileReading = GC.GetTotalMemory(forceFullCollection: true) - before;
                }
            }
        }

        Assert.AreEqual(points, read);
        // 24 bytes a point: the series (8) with room for the list the reader grows it in; far below the ~190 held before.
        Bound.Below(24L * points, afterScore);
        Bound.Below(24L * points, whileReading);
        GC.KeepAlive(scored);
    }

    [TestMethod]
    public void ReadingTheSeriesColumnsDoesNotRunTheModelAndForecastsNeedItUndisposed()
    {
        var model = ForecastTestModels.Create(HiddenCell.Dense, 2, LmuForecastScaling.PerWindow);
        var (values, covs) = ForecastTestModels.Series(40, 2);
        var transformer = ForecastTimeSeriesEngineTests.Transformer(model);
        var scored = LmuForecastWindows.Score(transformer, SeriesView.Create(new MLContext(1), values, covs), "Value");

        // Two cursors open at once read the same forecasts (each runs its own pass of the model).
        float[] first, second;
        using (var one = scored.GetRowCursor(scored.Schema))
        using (var two = scored.GetRowCursor(scored.Schema))
        {
            first = Read(one, scored.Schema["Forecast"]);
            second = Read(two, scored.Schema["Forecast"]);
        }

        CollectionAssert.AreEqual(first, second);
        Assert.IsTrue(first.Skip((T - 1) * model.Horizon).All(float.IsFinite), "every full window has a forecast");

        transformer.Dispose();
        CollectionAssert.AreEqual(values, scored.GetColumn<float>("Value").ToArray());
        CollectionAssert.AreEqual(covs[0], scored.GetColumn<float>("Cov0").ToArray());
        Assert.ThrowsExactly<ObjectDisposedException>(() => scored.GetRowCursor([scored.Schema["Forecast"]]));
    }

    private static float[] Read(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        var value = default(VBuffer<float>);
        var all = new List<float>();
        while (cursor.MoveNext())
        {
            getter(ref value);
            all.AddRange(value.DenseValues());
        }

        return [.. all];
    }
}
