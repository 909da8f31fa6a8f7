using System.Net;
using Lmu.MLNet.Forecasting;
using Lmu.MLNet.Tests.Forecasting;
using Lmu.MLNet.Tests.Infrastructure;
using Lmu.MLNet.Tests.MLNet.Classification;
using Lmu.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>
/// <c>serve</c> with a forecaster zip (trained here in a second or two, with bounds and a covariate): the window and
/// covariate are the request, and Forecast, Lower and Upper equal this process's transform of the same zip bit for bit.
/// </summary>
[TestClass]
public sealed class ServeForecasterTests : ClassifierTestBase
{
    private const int Window = 12;
    private const int Horizon = 3;

    [TestMethod]
    [Timeout(180_000, CooperativeCancellation = true)]
    public async Task AServedForecasterAnswersTheInProcessForecastAndBounds()
    {
        var ml = new MLContext(1) { TempFilePath = MlTemp };
        var (values, covs) = ForecastTestModels.Series(160, 1);
        var zip = Path.Combine(Temp, "forecaster.zip");
        var options = new LmuForecastingOptions
        {
            SeriesColumnName = "Value", CovariateColumnNames = ["Cov0"], WindowSize = Window, Horizon = Horizon,
            LowerBoundColumnName = "Lower", UpperBoundColumnName = "Upper", Scaling = LmuForecastScaling.PerWindow, ValidationFraction = 0.2,
            Training = new LmuTrainingOptions { Epochs = 2, BatchSize = 32, LearningRate = 3e-3, Seed = 5 },
        };
        var test = LmuForecastWindows.FromSeries(SeriesView.Create(ml, values[120..], [covs[0][120..]]), "Value", Window, Horizon, ["Cov0"]);
        using (var model = ml.Forecasting.ForecastByLmu(options).Fit(SeriesView.Create(ml, values[..120], [covs[0][..120]])))
        {
            ml.Model.Save(model, test.Schema, zip);
        }

        // Offline: the saved zip, loaded and transformed in this process.
        var loaded = ml.Model.Load(zip, out _);
        var scored = loaded.Transform(test);
        var expected = new[] { "Forecast", "Lower", "Upper" }.ToDictionary(c => c, c => scored.GetColumn<float[]>(c).ToArray());
        var windows = scored.GetColumn<float[]>("Window").ToArray();
        var cov0 = scored.GetColumn<float[]>("Cov0").ToArray();
        (loaded as IDisposable)?.Dispose();
        Assert.IsNotEmpty(windows);

        await using var served = await ServeProcess.StartAsync(zip, Temp);
        var description = await served.DescribeAsync();
        Assert.AreEqual("forecaster", description.GetProperty("kind").GetString());
        Assert.AreEqual(Horizon, description.GetProperty("horizon").GetInt32());
        var required = description.GetProperty("inputs").EnumerateArray().Where(i => i.GetProperty("required").GetBoolean()).Select(i => i.GetProperty("name").GetString()).ToArray();
        CollectionAssert.AreEquivalent(new[] { "Window", "Cov0" }, required, "the Label window is not needed to forecast");

        for (var i = 0; i < windows.Length; i++)
        {
            var (status, body) = await served.PredictAsync(new { Window = windows[i], Cov0 = cov0[i] });
            Assert.AreEqual(HttpStatusCode.OK, status, body.ToString());
            foreach (var (column, rows) in expected)
            {
                // System.Text.Json writes floats in their shortest round-trip form, so equality here is bit equality.
                CollectionAssert.AreEqual(rows[i], body.GetProperty(column).EnumerateArray().Select(v => v.GetSingle()).ToArray(), $"row {i} {column}");
            }
        }

        await served.AssertBadRequest("{\"Window\": [1, 2, 3], \"Cov0\": [1]}", $"Field 'Window' has 3 values; the model expects {Window}");
        Assert.IsFalse(SamplesApp.TorchLoaded(served.Process.Id), "the service process must not load libtorch");
    }
}
