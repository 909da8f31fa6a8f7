using Lmu.MLNet.Forecasting;
using Lmu.MLNet.Modules;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.Forecasting;

/// <summary>The scoring helpers: last windows / windows at chosen ends, and forecasts for series-layout rows.</summary>
[TestClass]
public sealed class ForecastScoringWindowsTests
{
    private const int T = ForecastTestModels.Window;

    [TestMethod]
    public void LastWindowsEqualHandCutWindowsOfEachSeries()
    {
        var (data, series) = Stacked();
        var view = LmuForecastWindows.LastWindows(data, "Value", T, "Id", ["Cov0", "Cov1"]);
        Assert.AreEqual(TextDataViewType.Instance, view.Schema["Id"].Type);
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Single, T), view.Schema["Window"].Type);
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Single, T), view.Schema["Cov1"].Type);
        var ids = view.GetColumn<string>("Id").ToArray();
        var ends = view.GetColumn<int>(LmuForecastWindows.WindowEndColumn).ToArray();
        var windows = view.GetColumn<float[]>("Window").ToArray();
        var cov1 = view.GetColumn<float[]>("Cov1").ToArray();
        CollectionAssert.AreEqual(series.Select(s => s.Id).ToArray(), ids);
        for (var i = 0; i < series.Length; i++)
        {
            var (_, values, covs) = series[i];
            Assert.AreEqual(values.Length - 1, ends[i]);
            CollectionAssert.AreEqual(values[^T..], windows[i], $"series {i}");
            CollectionAssert.AreEqual(covs[1][^T..], cov1[i], $"series {i} Cov1");
        }
    }

    [TestMethod]
    public void WindowsEndingAtChosenPositionsEqualHandCutWindows()
    {
        var (data, series) = Stacked();
        int[] chosen = [T - 1, -1, 20, -3];
        var view = LmuForecastWindows.WindowsEndingAt(data, "Value", T, chosen, "Id", ["Cov0", "Cov1"], windowColumn: "W");
        var ids = view.GetColumn<string>("Id").ToArray();
        var ends = view.GetColumn<int>(LmuForecastWindows.WindowEndColumn).ToArray();
        var windows = view.GetColumn<float[]>("W").ToArray();
        var cov0 = view.GetColumn<float[]>("Cov0").ToArray();
        Assert.HasCount(series.Length * chosen.Length, windows);
        var row = 0;
        foreach (var (id, values, covs) in series)
        {
            foreach (var e in chosen)
            {
                var end = e < 0 ? values.Length + e : e;
                Assert.AreEqual(id, ids[row]);
                Assert.AreEqual(end, ends[row]);
                CollectionAssert.AreEqual(values[(end - T + 1)..(end + 1)], windows[row], $"{id} end {e}");
                CollectionAssert.AreEqual(covs[0][(end - T + 1)..(end + 1)], cov0[row], $"{id} end {e} Cov0");
                row++;
            }
        }

        var error = Assert.ThrowsExactly<ArgumentException>(() => LmuForecastWindows.WindowsEndingAt(data, "Value", T, [T - 2], "Id", ["Cov0", "Cov1"]));
        StringAssert.Contains(error.Message, "Series 'a' (column 'Id')");
        StringAssert.Contains(error.Message, $"position {T - 2}");
        error = Assert.ThrowsExactly<ArgumentException>(() => LmuForecastWindows.LastWindows(data, "Value", 100, "Id"));
        StringAssert.Contains(error.Message, "no window of 100");
        error = Assert.ThrowsExactly<ArgumentException>(() => LmuForecastWindows.LastWindows(data, "Missing", T));
        StringAssert.Contains(error.Message, "Missing");
    }

    [TestMethod]
    public void TheLastWindowOfASeriesScoresLikeTheLastWindowTheSlidingLayoutCuts()
    {
        var model = ForecastTestModels.Create(HiddenCell.Dense, 2, LmuForecastScaling.PerWindow);
        var (values, covs) = ForecastTestModels.Series(50, 2);
        var ml = new MLContext(1);
        using var transformer = ForecastTimeSeriesEngineTests.Transformer(model);
        var rows = SeriesView.Create(ml, values, covs);
        var last = transformer.Transform(LmuForecastWindows.LastWindows(rows, "Value", T, covariates: model.CovariateColumns)).GetColumn<float[]>("Forecast").Single();
        // FromSeries cuts windows that have a label after them; the series plus one more value makes the last one ours.
        var extended = SeriesView.Create(ml, [.. values, 0f], covs.Select(c => c.Append(0f).ToArray()).ToArray());
        var sliding = transformer.Transform(LmuForecastWindows.FromSeries(extended, "Value", T, 1, model.CovariateColumns)).GetColumn<float[]>("Forecast").Last();
        CollectionAssert.AreEqual(sliding, last);
    }

    [TestMethod]
    [DataRow(true)]
    [DataRow(false)]
    public void ScoringSeriesRowsEqualsScoringTheirWindows(bool bounds)
    {
        var model = ForecastTestModels.Create(HiddenCell.Dense, 2, LmuForecastScaling.PerWindow, bounds);
        var (values, covs) = ForecastTestModels.Series(60, 2);
        var ml = new MLContext(1);
        using var transformer = ForecastTimeSeriesEngineTests.Transformer(model);
        var rows = SeriesView.Create(ml, values, covs);
        var scored = LmuForecastWindows.Score(transformer, rows, "Value");
        var windows = transformer.Transform(LmuForecastWindows.FromSeries(rows, "Value", T, 1, model.CovariateColumns));
        string[] outputs = bounds ? ["Forecast", "Lower", "Upper"] : ["Forecast"];
        Assert.AreEqual(bounds, scored.Schema.GetColumnOrNull("Lower").HasValue);
        CollectionAssert.AreEqual(Enumerable.Range(0, values.Length).ToArray(), scored.GetColumn<int>("Position").ToArray());
        CollectionAssert.AreEqual(values, scored.GetColumn<float>("Value").ToArray());
        CollectionAssert.AreEqual(covs[1], scored.GetColumn<float>("Cov1").ToArray());
        foreach (var output in outputs)
        {
            var perRow = scored.GetColumn<float[]>(output).ToArray();
            var perWindow = windows.GetColumn<float[]>(output).ToArray();
            Assert.HasCount(values.Length, perRow);
            for (var p = 0; p < values.Length; p++)
            {
                if (p < T - 1)
                {
                    Assert.IsTrue(perRow[p].Length == model.Horizon && perRow[p].All(float.IsNaN), $"{output} row {p}: NaN before the first full window");
                }
                else if (p - (T - 1) < perWindow.Length)
                {
                    CollectionAssert.AreEqual(perWindow[p - (T - 1)], perRow[p], $"{output} row {p}");
                }
            }
        }

        // The last row (no label after it, so not in FromSeries) is the last window's forecast.
        var last = transformer.Transform(LmuForecastWindows.LastWindows(rows, "Value", T, covariates: model.CovariateColumns)).GetColumn<float[]>("Forecast").Single();
        CollectionAssert.AreEqual(last, scored.GetColumn<float[]>("Forecast").Last());
    }

    [TestMethod]
    public void ScoringStackedSeriesRowsKeepsEachSeriesApart()
    {
        var model = ForecastTestModels.Create(HiddenCell.Dense, 2, LmuForecastScaling.Global);
        var (data, series) = Stacked();
        using var transformer = ForecastTimeSeriesEngineTests.Transformer(model, seriesIdColumn: "Id");
        var scored = LmuForecastWindows.Score(transformer, data, "Value", "Id");
        var ids = scored.GetColumn<string>("Id").ToArray();
        var positions = scored.GetColumn<int>("Position").ToArray();
        var forecasts = scored.GetColumn<float[]>("Forecast").ToArray();
        var row = 0;
        foreach (var (id, values, covs) in series)
        {
            // Windows at every complete end of this series alone.
            var alone = SeriesView.Create(new MLContext(1), values, covs);
            var own = LmuForecastWindows.WindowsEndingAt(alone, "Value", T, Enumerable.Range(T - 1, values.Length - T + 1).ToArray(), covariates: ["Cov0", "Cov1"]);
            var mine = transformer.Transform(own).GetColumn<float[]>("Forecast").ToArray();
            for (var p = 0; p < values.Length; p++, row++)
            {
                Assert.AreEqual(id, ids[row]);
                Assert.AreEqual(p, positions[row]);
                if (p >= T - 1)
                {
                    CollectionAssert.AreEqual(mine[p - (T - 1)], forecasts[row], $"{id} row {p}");
                }
                else
                {
                    Assert.IsTrue(forecasts[row].All(float.IsNaN));
                }
            }
        }

        Assert.HasCount(row, ids);
    }

    [TestMethod]
    public void NoRowsScoreAsNoRows()
    {
        // ML.NET's idiom: an empty view in, an empty one out (it threw "The training data has no rows"; found by QA).
        var model = ForecastTestModels.Create(HiddenCell.Dense, 2, LmuForecastScaling.Global);
        using var transformer = ForecastTimeSeriesEngineTests.Transformer(model);
        var (data, _) = Stacked();
        var empty = new MLContext(1).Data.FilterRowsByColumn(data, "Value", lowerBound: 1e30);
        Assert.HasCount(0, LmuForecastWindows.Score(transformer, empty, "Value", "Id").GetColumn<float[]>("Forecast").ToArray());
        Assert.HasCount(0, LmuForecastWindows.LastWindows(empty, "Value", T, "Id", ["Cov0", "Cov1"]).GetColumn<float[]>("Window").ToArray());
    }

    [TestMethod]
    public void ScoringStackedRowsWithoutTheTrainedIdColumnIsRefused()
    {
        var model = ForecastTestModels.Create(HiddenCell.Dense, 2, LmuForecastScaling.Global);
        var (data, _) = Stacked();
        using var transformer = ForecastTimeSeriesEngineTests.Transformer(model, seriesIdColumn: "Id");
        // Without the id the two series read as one, and windows across their boundary would be scored (found by QA).
        var e = Assert.Throws<ArgumentException>(() => LmuForecastWindows.Score(transformer, data, "Value"));
        StringAssert.Contains(e.Message, "'Id'");
        Assert.AreEqual("seriesIdColumn", e.ParamName);

        // A model trained on one series scores the same rows as one series, as before.
        using var single = ForecastTimeSeriesEngineTests.Transformer(model);
        Assert.HasCount(73, LmuForecastWindows.Score(single, data, "Value").GetColumn<int>("Position").ToArray());
    }

    // Series "a" (40 rows) and "b" (33 rows), stacked, with Cov0 and Cov1.
    private static (IDataView Data, (string Id, float[] Values, float[][] Covs)[] Series) Stacked()
    {
        var a = ForecastTestModels.Series(40, 2, seed: 1);
        var b = ForecastTestModels.Series(33, 2, seed: 2);
        (string, float[], float[][])[] series = [("a", a.Values, a.Covariates), ("b", b.Values, b.Covariates)];
        var ids = series.SelectMany(s => Enumerable.Repeat(s.Item1, s.Item2.Length)).ToArray();
        var values = series.SelectMany(s => s.Item2).ToArray();
        var cov0 = series.SelectMany(s => s.Item3[0]).ToArray();
        var cov1 = series.SelectMany(s => s.Item3[1]).ToArray();
        var data = new ForecastRowsDataView([
            ("Id", TextDataViewType.Instance, ids), ("Value", NumberDataViewType.Single, values),
            ("Cov0", NumberDataViewType.Single, cov0), ("Cov1", NumberDataViewType.Single, cov1)]);
        return (data, series);
    }
}
