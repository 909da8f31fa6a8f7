using Lmu.MLNet.Classification;
using Lmu.MLNet.Forecasting;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Tests.Infrastructure;
using Lmu.MLNet.Training;
using Microsoft.ML;

namespace Lmu.MLNet.Tests.Training;

/// <summary>
/// Fit streams its data: trained on a <see cref="ProbeDataView"/> (rows computed when read, nothing held by the view),
/// every epoch reads the data again, and the managed memory retained at any moment (sampled after a full collection
/// every few thousand rows of every pass and after every epoch) stays a small fraction of the data's size. A Fit that
/// copied the rows into memory, once or per epoch, holds at least their float32 bytes at a sample (16.8 and 6.4 MB
/// here): the forecaster did, holding every series as float64 before windows were cut on the fly.
/// </summary>
[TestClass]
public sealed class StreamingFitTests
{
    private const int Epochs = 2;

    [TestMethod]
    public void TheClassifierReadsEveryEpochFromTheViewAndHoldsLittleOfIt()
    {
        // 4,096 rows of 256 steps x 4 channels: 16.8 MB as float32. ShuffleRows' pool (64 rows) and a batch are what may be held.
        const int Rows = 4096, Steps = 256, Channels = 4;
        var view = new ProbeDataView(
            Rows, 512,
            ProbeColumn.Text("Label", r => r % 2 == 0 ? "even" : "odd"),
            ProbeColumn.Vector("Features", Steps * Channels, (r, x) =>
            {
                for (var i = 0; i < x.Length; i++)
                {
                    x[i] = MathF.Sin((0.01f * i) + (r % 2 == 0 ? 0f : 1.5f)) + (0.001f * (r % 7));
                }
            }));
        var options = new LmuClassifierOptions
        {
            Channels = Channels,
            Layer = new LmuLayerOptions { Order = 4, HiddenCell = HiddenCell.None },
            Training = new LmuTrainingOptions { Epochs = Epochs, BatchSize = 64, LearningRate = 1e-2, Seed = 3 },
            ValidationFraction = 0.25,
            ShufflePoolSize = 64,
        };
        var served = new List<long>();
        options.Progress = new Inline(_ =>
        {
            view.Sample();
            served.Add(view.RowsServed);
        });
        var ml = new MLContext(1);
        view.StartMeasuring();
        using var model = ml.Transforms.LmuClassifier(options).Fit(view);

        AssertStreamed(view, served, Rows, Rows * Steps * Channels * 4L);
    }

    [TestMethod]
    public void TheForecasterCutsWindowsFromEachEpochsPassAndHoldsOnlyItsPool()
    {
        // 200 series of 8,000 points (1,600,000 rows): 6.4 MB as float32. Windows every 1,500 steps keep training to
        // a few hundred windows; the pool (20,000 points) and one series are what may be held.
        const int Series = 200, Length = 8_000;
        var view = new ProbeDataView(
            (long)Series * Length, 100_000,
            ProbeColumn.Single("SeriesId", r => r / Length),
            ProbeColumn.Single("Value", r => (10 * MathF.Sin(2 * MathF.PI * (r % Length) / 12f)) + (r / Length % 5)));
        var options = new LmuForecastingOptions
        {
            SeriesColumnName = "Value",
            SeriesIdColumnName = "SeriesId",
            WindowSize = 16,
            Horizon = 4,
            WindowStride = 1_500,
            ValidationFraction = 0.2,
            ShufflePoolPoints = 20_000,
            Layer = new LmuLayerOptions { Order = 8, HiddenCell = HiddenCell.Dense, HiddenUnits = 8, InputToHidden = true },
            Training = new LmuTrainingOptions { Epochs = Epochs, BatchSize = 64, LearningRate = 1e-2, Seed = 3 },
        };
        var served = new List<long>();
        options.Progress = new Inline(_ =>
        {
            view.Sample();
            served.Add(view.RowsServed);
        });
        var ml = new MLContext(1);
        view.StartMeasuring();
        using var model = ml.Forecasting.ForecastByLmu(options).Fit(view);

        AssertStreamed(view, served, (long)Series * Length, (long)Series * Length * 4);
    }

    private static void AssertStreamed(ProbeDataView view, List<long> served, long rows, long floatBytes)
    {
        Assert.HasCount(Epochs, served, "one report per epoch");
        for (var e = 1; e < Epochs; e++)
        {
            // Training and validation read (part of) the data again every epoch; a Fit holding it reads nothing.
            Assert.IsGreaterThanOrEqualTo(rows, served[e] - served[e - 1], $"rows read during epoch {e + 1}");
        }

        Assert.IsGreaterThanOrEqualTo(Epochs + 1, view.CursorsOpened, "a cursor per pass");
        // Retained memory: a quarter of the data's float32 bytes; copying the rows costs all of them.
        Bound.Below(floatBytes / 4, view.MaxRetainedBytes, $"at most {floatBytes / 4:N0} bytes retained while fitting on {floatBytes:N0} bytes of rows");
    }

    private sealed class Inline(Action<LmuEpochReport> report) : IProgress<LmuEpochReport>
    {
        public void Report(LmuEpochReport value) => report(value);
    }
}
