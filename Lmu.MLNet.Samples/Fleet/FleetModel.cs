using Lmu.MLNet.Modules;
using Lmu.MLNet.Samples.Forecasting;
using Microsoft.ML;
using TorchSharp;

namespace Lmu.MLNet.Samples.Fleet;

/// <summary>The fleet command's default model: a small forecaster trained in seconds on generated daily series.</summary>
internal static class FleetModel
{
    /// <summary>Trains it and writes a typed engine's CheckPoint zip (servable by /predict and streamable by the grains).</summary>
    public static string Train(string folder, int seed)
    {
        torch.set_num_threads(1);
        var rows = Enumerable.Range(0, 8).SelectMany(s => Enumerable.Range(1, 400).Select(n =>
        {
            var r = FleetReadings.Reading(s, n);
            return new SeriesRow { SeriesId = $"s{s}", Value = r.Value, DayOfWeek = r.Covariates[0] };
        })).ToArray();
        var ml = new MLContext(seed);
        var options = new LmuForecastingOptions
        {
            SeriesColumnName = nameof(SeriesRow.Value), SeriesIdColumnName = nameof(SeriesRow.SeriesId), WindowSize = 24, Horizon = 6,
            CovariateColumnNames = [nameof(SeriesRow.DayOfWeek)], Scaling = LmuForecastScaling.PerWindow,
            LowerBoundColumnName = "Lower", UpperBoundColumnName = "Upper",
            Layer = new LmuLayerOptions { Order = 12, Theta = 24, HiddenCell = HiddenCell.Dense, HiddenUnits = 16, HiddenActivation = LmuActivation.Tanh, InputToHidden = true },
            Training = new() { Epochs = 3, BatchSize = 32, LearningRate = 3e-3 }, WindowStride = 2,
        };
        using var model = ml.Forecasting.ForecastByLmu(options).Fit(ml.Data.LoadFromEnumerable(rows));
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, "model.zip");
        model.CreateTimeSeriesEngine<SeriesRow, FleetForecast>(ml).CheckPoint(ml, path);
        return path;
    }
}
