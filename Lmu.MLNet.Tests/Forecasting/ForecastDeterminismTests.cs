using Lmu.MLNet.Forecasting;
using Lmu.MLNet.Modules;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.Forecasting;

/// <summary>The forecaster's ONNX graph scores bit-identically run to run and after a save/load (hand-made models, no training).</summary>
[TestClass]
public sealed class ForecastDeterminismTests
{
    public static IEnumerable<object[]> Cases() =>
    [
        [HiddenCell.Dense, 1, LmuForecastScaling.PerWindow],
        [HiddenCell.None, 2, LmuForecastScaling.PerWindow],
        [HiddenCell.Lstm, 0, LmuForecastScaling.PerWindow],
        [HiddenCell.Dense, 1, LmuForecastScaling.Global],
    ];

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void ScoringIsBitIdenticalRunToRunAndAfterReload(HiddenCell cell, int covariates, LmuForecastScaling scaling)
    {
        var model = ForecastTestModels.Create(cell, covariates, scaling);
        var (values, covs) = ForecastTestModels.Series(400, covariates);
        var ml = new MLContext(1);
        var windows = LmuForecastWindows.FromSeries(SeriesView.Create(ml, values, covs), "Value", model.WindowSize, 1, model.CovariateColumns);
        var path = Path.Combine(Path.GetTempPath(), $"lmu-forecast-det-{Guid.NewGuid():N}.zip");
        try
        {
            float[][] first;
            using (var chain = LmuForecastEstimator.CreateChain(ml, model))
            {
                first = Score(chain, windows, "Forecast");
                // Several passes: ONNX Runtime's reductions differed in the last bit between runs of the same row.
                for (var pass = 0; pass < 4; pass++)
                {
                    AssertSame(first, Score(chain, windows, "Forecast"), $"pass {pass}");
                }

                ml.Model.Save(chain, windows.Schema, path);
            }

            var loaded = new MLContext(2).Model.Load(path, out _);
            AssertSame(first, Score(loaded, windows, "Forecast"), "reloaded");
            AssertSame(first, Score(loaded, windows, "Forecast"), "reloaded, second pass");
            (loaded as IDisposable)?.Dispose();
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static float[][] Score(ITransformer model, IDataView data, string column) =>
        model.Transform(data).GetColumn<float[]>(column).ToArray();

    private static void AssertSame(float[][] expected, float[][] actual, string what)
    {
        Assert.HasCount(expected.Length, actual);
        var differing = expected.Where((row, i) => !row.SequenceEqual(actual[i])).Count();
        Assert.AreEqual(0, differing, $"{what}: {differing} of {expected.Length} rows differ (bit-identical required)");
    }
}
