using Lmu.MLNet.Forecasting;
using Lmu.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.Forecasting;

/// <summary>
/// A forecaster fitted on the series layout inside ML.NET's chains: an EstimatorChain transforms after its last Fit,
/// and the fitted forecaster could only Transform windows, so every chain ending in it failed after training (found by
/// QA). It now reads series rows as windows: each row's forecast is of the values that follow it, as
/// <see cref="LmuForecastWindows.Score"/> gives.
/// </summary>
[TestClass]
public sealed class ForecasterChainTests
{
    private const int Window = 8;

    [TestMethod]
    public void AChainEndingInTheForecasterFitsAndScoresSeriesRowsAsScoreDoes()
    {
        var ml = new MLContext(1);
        var (data, rows) = Stacked(interleaved: false);
        var pipeline = ml.Transforms.CopyColumns("V", "Value").Append(ml.Forecasting.ForecastByLmu(Options()));
        Assert.AreEqual(SchemaShape.Column.VectorKind.Vector, pipeline.GetOutputSchema(Lmu.MLNet.SchemaShapes.FromSchema(data.Schema)).Single(c => c.Name == "Window").Kind);
        using var chain = pipeline.Fit(data);
        var forecaster = chain.LastTransformer;

        var scored = chain.Transform(data);
        var forecasts = scored.GetColumn<float[]>("Forecast").ToArray();
        var lower = scored.GetColumn<float[]>("Lower").ToArray();
        CollectionAssert.AreEqual(rows.Select(r => r.Id).ToArray(), scored.GetColumn<string>("Id").ToArray(), "input columns pass through, rows in input order");
        CollectionAssert.AreEqual(rows.Select(r => r.Value).ToArray(), scored.GetColumn<float>("Value").ToArray());

        var byScore = LmuForecastWindows.Score(forecaster, ml.Transforms.CopyColumns("V", "Value").Fit(data).Transform(data), "V", "Id");
        var expected = byScore.GetColumn<float[]>("Forecast").ToArray();
        var expectedLower = byScore.GetColumn<float[]>("Lower").ToArray();
        Assert.HasCount(expected.Length, forecasts);
        for (var r = 0; r < expected.Length; r++)
        {
            // Bit for bit, NaN rows (before each series' first full window) included.
            CollectionAssert.AreEqual(expected[r], forecasts[r], $"row {r}");
            CollectionAssert.AreEqual(expectedLower[r], lower[r], $"row {r} lower bound");
        }

        Assert.IsTrue(forecasts[Window - 2].All(float.IsNaN) && !forecasts[Window - 1].Any(float.IsNaN), "the first full window ends at row T - 1");
        Assert.IsTrue(forecasts[40 + Window - 2].All(float.IsNaN), "the second series starts its own window");

        // The zip scores windows only, so the chain is not saved with the series schema it was fitted on.
        var path = Path.Combine(Path.GetTempPath(), $"lmu-chain-{Guid.NewGuid():N}.zip");
        var refused = Assert.ThrowsExactly<ArgumentException>(() => LmuModelFile.Save(ml, chain, data.Schema, path));
        StringAssert.Contains(refused.Message, "the forecaster reads series rows ('V', one value per row) only in the fitted model's Transform");
        Assert.IsFalse(File.Exists(path));
    }

    [TestMethod]
    public void InterleavedSeriesKeepTheirOwnWindows()
    {
        var ml = new MLContext(1);
        var (contiguous, rows) = Stacked(interleaved: false);
        using var model = ml.Forecasting.ForecastByLmu(Options("Value")).Fit(contiguous);
        var expected = rows.Zip(model.Transform(contiguous).GetColumn<float[]>("Forecast")).ToDictionary(p => (p.First.Id, p.First.Position), p => p.Second);
        var (interleaved, mixed) = Stacked(interleaved: true);
        var forecasts = model.Transform(interleaved).GetColumn<float[]>("Forecast").ToArray();
        for (var r = 0; r < mixed.Count; r++)
        {
            CollectionAssert.AreEqual(expected[(mixed[r].Id, mixed[r].Position)], forecasts[r], $"series {mixed[r].Id} position {mixed[r].Position}");
        }
    }

    [TestMethod]
    public void AGapOrAnIdColumnOfAnotherTypeIsRefusedAsScoreRefusesThem()
    {
        var ml = new MLContext(1);
        var (data, rows) = Stacked(interleaved: false);
        using var model = ml.Forecasting.ForecastByLmu(Options("Value", epochs: 1)).Fit(data);
        rows[20].Value = float.NaN;
        var thrown = Assert.Throws<Exception>(() => model.Transform(ml.Data.LoadFromEnumerable(rows)).GetColumn<float[]>("Forecast").ToArray());
        while (thrown is not ArgumentException && thrown.InnerException is { } inner)
        {
            thrown = inner;
        }

        StringAssert.Contains(thrown.Message, "Column 'Value' is NaN");
        StringAssert.Contains(thrown.Message, "row 20 (series 'a')");

        var flagged = ml.Transforms.CustomMapping<Row, FlagRow>((r, f) => f.Id = r.Id == "a", contractName: null).Fit(data).Transform(data);
        var e = Assert.ThrowsExactly<ArgumentException>(() => model.Transform(flagged));
        StringAssert.Contains(e.Message, "series id column 'Id' has type Boolean");
    }

    [TestMethod]
    public void IdsOfEveryNumberTypeAndKeysScoreAsTextIdsAndDataWithoutTheIdIsRefused()
    {
        // Types QA: a key id trained, then the fitted model's Transform refused it; Int16, Byte and UInt64 ids were refused
        // although numbers; the ids -0 and 0 were two series; data without the id column (named "id" or "SeriesId") was
        // scored as one series, windows running across series, silently; a text column of the user's named "Window"
        // switched the rows to the window layout.
        var ml = new MLContext(1);
        var (data, rows) = Stacked(interleaved: false);
        using var model = ml.Forecasting.ForecastByLmu(Options("Value", epochs: 1)).Fit(data);
        var expected = model.Transform(data).GetColumn<float[]>("Forecast").ToArray();
        void AssertSame(IDataView view, string what)
        {
            var actual = model.Transform(view).GetColumn<float[]>("Forecast").ToArray();
            Assert.HasCount(expected.Length, actual, what);
            for (var r = 0; r < expected.Length; r++)
            {
                CollectionAssert.AreEqual(expected[r], actual[r], $"{what}, row {r}");
            }
        }

        AssertSame(ml.Transforms.Conversion.MapValueToKey("Id").Fit(data).Transform(data), "key ids");
        AssertSame(ml.Data.LoadFromEnumerable(rows.Select(r => new ShortIdRow { Id = (short)(r.Id == "a" ? 7 : -7), Value = r.Value, Cov0 = r.Cov0 })), "Int16 ids");
        AssertSame(ml.Data.LoadFromEnumerable(rows.Select((r, i) => new DoubleIdRow { Id = r.Id == "a" ? (i % 2 == 0 ? 0.0 : -0.0) : 1.0, Value = r.Value, Cov0 = r.Cov0 })), "-0 and 0 as one id");
        AssertSame(ml.Data.LoadFromEnumerable(rows.Select(r => new TextWindowRow { Id = r.Id, Value = r.Value, Cov0 = r.Cov0, Window = "w" })), "a text column named Window");

        // A chain that keys the id fits and transforms.
        using (var keyed = ml.Transforms.Conversion.MapValueToKey("Id").Append(ml.Forecasting.ForecastByLmu(Options("Value", epochs: 1))).Fit(data))
        {
            Assert.HasCount(rows.Count, keyed.Transform(data).GetColumn<float[]>("Forecast").ToArray());
        }

        foreach (var renamed in new[] { "id", "SeriesId" })
        {
            var other = ml.Transforms.CopyColumns(renamed, "Id").Append(ml.Transforms.DropColumns("Id")).Fit(data).Transform(data);
            var e = Assert.ThrowsExactly<ArgumentException>(() => model.Transform(other));
            StringAssert.StartsWith(e.Message, "The series id column 'Id' this forecaster was fitted with is not in the data, so its rows cannot be told apart by series; its columns are: ");
            StringAssert.Contains(e.Message, $"{renamed} (String)");
            StringAssert.Contains(e.Message, "or score rows of one series with LmuForecastWindows.Score(model, data, \"Value\")");
            Assert.ThrowsExactly<ArgumentException>(() => model.GetOutputSchema(other.Schema), "GetOutputSchema refuses it too");
        }
    }

    [TestMethod]
    public void APredictionEngineOnSeriesRowsSaysWhatToUseInstead()
    {
        var ml = new MLContext(1);
        var (data, _) = Stacked(interleaved: false);
        using var model = ml.Forecasting.ForecastByLmu(Options("Value", epochs: 1)).Fit(data);
        var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Model.CreatePredictionEngine<Row, Forecasted>(model, new PredictionEngineOptions { OwnsTransformer = false }));
        StringAssert.Contains(e.Message, "PredictionEngine scores one row at a time");
        StringAssert.Contains(e.Message, "CreateTimeSeriesEngine");
    }

    private static LmuForecastingOptions Options(string series = "V", int epochs = 3) => new()
    {
        SeriesColumnName = series,
        SeriesIdColumnName = "Id",
        CovariateColumnNames = ["Cov0"],
        WindowSize = Window,
        Horizon = 3,
        LowerBoundColumnName = "Lower",
        UpperBoundColumnName = "Upper",
        ConfidenceLevel = 0.8,
        Training = new LmuTrainingOptions { Epochs = epochs, BatchSize = 16, LearningRate = 3e-3, Seed = 5 },
    };

    // Series "a" (40 rows) and "b" (33 rows) with one covariate; interleaved: b's rows alternate with a's while both last.
    private static (IDataView Data, List<Row> Rows) Stacked(bool interleaved)
    {
        var a = ForecastTestModels.Series(40, 1, seed: 1);
        var b = ForecastTestModels.Series(33, 1, seed: 2);
        var rowsA = a.Values.Select((v, t) => new Row { Id = "a", Position = t, Value = v, Cov0 = a.Covariates[0][t] }).ToList();
        var rowsB = b.Values.Select((v, t) => new Row { Id = "b", Position = t, Value = v, Cov0 = b.Covariates[0][t] }).ToList();
        var rows = interleaved
            ? rowsA.Take(33).Zip(rowsB, (x, y) => new[] { x, y }).SelectMany(p => p).Concat(rowsA.Skip(33)).ToList()
            : rowsA.Concat(rowsB).ToList();
        return (new MLContext(1).Data.LoadFromEnumerable(rows), rows);
    }

    public sealed class Row
    {
        public string Id { get; set; } = string.Empty;

        public int Position { get; set; }

        public float Value { get; set; }

        public float Cov0 { get; set; }
    }

    public sealed class ShortIdRow
    {
        public short Id { get; set; }

        public float Value { get; set; }

        public float Cov0 { get; set; }
    }

    public sealed class DoubleIdRow
    {
        public double Id { get; set; }

        public float Value { get; set; }

        public float Cov0 { get; set; }
    }

    public sealed class TextWindowRow
    {
        public string Id { get; set; } = string.Empty;

        public float Value { get; set; }

        public float Cov0 { get; set; }

        public string Window { get; set; } = string.Empty;
    }

    public sealed class FlagRow
    {
        public bool Id { get; set; }
    }

    public sealed class Forecasted
    {
        public float[] Forecast { get; set; } = [];
    }
}
