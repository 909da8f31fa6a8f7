using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Lmu.MLNet.Forecasting;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Samples.Forecasting;
using Microsoft.ML;
using TorchSharp;

namespace Lmu.MLNet.Samples.Commands;

/// <summary>
/// <c>bike-sharing</c>: ML.NET's SSA forecasting tutorial protocol on the daily bike rentals (train on 2011, forecast
/// 7 days, evaluate on 2012), beside SSA's published MAE 726.416 and RMSE 987.658.
/// </summary>
internal static class BikeSharingCommand
{
    public static Command Create()
    {
        var settings = ForecastSampleSettings.Create(epochs: 20, batchSize: 16, learningRate: 3e-3);
        var window = new Option<int>("--window") { Description = "Input window in days.", DefaultValueFactory = _ => 30 }.Between(1);
        var noDayOfWeek = new Option<bool>("--no-day-of-week") { Description = "Drop the day-of-week covariate." };
        var units = new Option<int>("--units") { Description = "Dense hidden units.", DefaultValueFactory = _ => 64 }.Between(1);
        var order = new Option<int>("--order") { Description = "Legendre order per memory channel.", DefaultValueFactory = _ => 32 }.Between(1, LmuLayerOptions.MaxOrder);
        var patience = new Option<int>("--patience") { Description = "Early-stopping patience on the last 10% of 2011 (0 = off).", DefaultValueFactory = _ => 0 }.NotNegative();
        var cmd = new Command("bike-sharing", "ML.NET SSA tutorial protocol on daily bike rentals: MAE and RMSE on 2012 against SSA's 726.4 / 987.7.")
        {
            window, noDayOfWeek, units, order, patience,
        };
        settings.AddTo(cmd);
        cmd.SetAction(r => Run(r, settings, r.GetValue(window), !r.GetValue(noDayOfWeek), r.GetValue(units), r.GetValue(order), r.GetValue(patience)));
        return cmd;
    }

    private static int Run(ParseResult r, ForecastSampleSettings settings, int window, bool dayOfWeek, int units, int order, int patience)
    {
        const int Horizon = 7;
        torch.set_num_threads(r.GetValue(settings.Threads));
        var path = ForecastSampleSettings.Data("bike_sharing_daily.csv");
        var rows = Forecasting.SampleCsv.Rows(path).Select(c => new SeriesRow
        {
            Value = (float)Forecasting.SampleCsv.Number(path, c.Line, 2, Forecasting.SampleCsv.Field(path, c, 2)),
            DayOfWeek = DateTime.TryParseExact(Forecasting.SampleCsv.Field(path, c, 0), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)
                ? (float)day.DayOfWeek
                : throw new InvalidDataException($"{path} line {c.Line}, column 1: '{c.Fields[0]}' is not a date (yyyy-MM-dd)."),
            SeriesId = Forecasting.SampleCsv.Field(path, c, 1),
        }).ToArray();
        var train = rows.Where(x => x.SeriesId == "0").ToArray();
        var seed = r.GetValue(settings.Seed);
        var ml = new MLContext(seed);
        var options = new LmuForecastingOptions
        {
            SeriesColumnName = nameof(SeriesRow.Value), WindowSize = window, Horizon = Horizon,
            CovariateColumnNames = dayOfWeek ? [nameof(SeriesRow.DayOfWeek)] : [],
            Scaling = LmuForecastScaling.PerWindow, LowerBoundColumnName = "Lower", UpperBoundColumnName = "Upper",
            Layer = new Modules.LmuLayerOptions
            {
                MemoryD = 4, Order = order, Theta = window, HiddenCell = HiddenCell.Dense, HiddenUnits = units,
                HiddenActivation = LmuActivation.Tanh, InputToHidden = true,
            },
            Training = settings.Training(r, patience), ValidationFraction = 0.1, Progress = ForecastSampleSettings.Printer(),
        };
        Console.WriteLine($"Bike sharing: train {train.Length} days of 2011, window {window}, horizon {Horizon}, covariates [{string.Join(", ", options.CovariateColumnNames)}], " +
                          $"per-window scaling, MSE loss, 4 x order {order}, Dense {units}, patience {patience}, {options.Training.Epochs} epochs, batch {options.Training.BatchSize}, lr {options.Training.LearningRate}, torch threads {torch.get_num_threads()}");
        var clock = Stopwatch.StartNew();
        using var model = ml.Forecasting.ForecastByLmu(options).Fit(ml.Data.LoadFromEnumerable(train));
        Console.WriteLine($"Trained {model.Info.ParameterCount} parameters in {clock.Elapsed.TotalSeconds:F1} s");

        // Stream 2011 then 2012 through the engine; forecasts[t] is the forecast made after observing day t.
        clock.Restart();
        var engine = model.CreateEngine();
        var forecasts = new LmuForecast?[rows.Length];
        for (var t = 0; t < rows.Length; t++)
        {
            forecasts[t] = dayOfWeek ? engine.Observe(rows[t].Value, rows[t].DayOfWeek) : engine.Observe(rows[t].Value);
        }

        var forecastTime = clock.Elapsed;
        var first2012 = train.Length;
        var oneStep = new List<double>();
        var tutorial = new List<double>();
        var outcomes = new List<ForecastOutcome>();
        int covered = 0, bounded = 0;
        for (var t = first2012; t < rows.Length; t++)
        {
            // Day t forecast one day ahead, from the window ending at t-1.
            oneStep.Add(rows[t].Value - forecasts[t - 1]!.Forecast[0]);
            // The tutorial's own formula: actual of row t against Forecast[0] emitted at row t (made after seeing t).
            tutorial.Add(rows[t].Value - forecasts[t]!.Forecast[0]);
            if (t + Horizon < rows.Length)
            {
                var f = forecasts[t]!;
                var actual = Enumerable.Range(1, Horizon).Select(h => (double)rows[t + h].Value).ToArray();
                outcomes.Add(new ForecastOutcome(actual, f.Forecast.Select(v => (double)v).ToArray(), rows[..(t + 1)].Select(x => (double)x.Value).ToArray()));
                for (var h = 0; h < Horizon; h++)
                {
                    covered += actual[h] >= f.LowerBound![h] && actual[h] <= f.UpperBound![h] ? 1 : 0;
                    bounded++;
                }
            }
        }

        var all = ForecastEvaluator.Evaluate(outcomes, seasonality: 7);
        Console.WriteLine($"Forecast {rows.Length} days with the streaming engine in {forecastTime.TotalMilliseconds:F1} ms");
        Console.WriteLine($"2012, one step ahead (day t from days <= t-1):         MAE {oneStep.Average(Math.Abs):F1}  RMSE {Math.Sqrt(oneStep.Average(e => e * e)):F1}");
        Console.WriteLine($"2012, the SSA tutorial's formula (actual_t vs Forecast[0] at t): MAE {tutorial.Average(Math.Abs):F1}  RMSE {Math.Sqrt(tutorial.Average(e => e * e)):F1}");
        Console.WriteLine($"   ML.NET ForecastBySsa (published tutorial output):         MAE 726.4  RMSE 987.7");
        var naive = Enumerable.Range(first2012, rows.Length - first2012).Select(t => (double)rows[t].Value - rows[t - 1].Value).ToArray();
        Console.WriteLine($"   naive (yesterday's value), one step ahead:               MAE {naive.Average(Math.Abs):F1}  RMSE {Math.Sqrt(naive.Average(e => e * e)):F1}");
        Console.WriteLine($"2012, all 7 horizons: MAE {all.MeanAbsoluteError:F1}  RMSE {all.RootMeanSquaredError:F1}  sMAPE {all.SymmetricMape:F2}  MASE(m=7) {all.MeanAbsoluteScaledError:F3}  NRMSE {all.NormalizedRmse:F3}");
        Console.WriteLine($"{model.Info.ConfidenceLevel:P0} bounds (validation residuals) cover {covered * 100.0 / bounded:F1}% of 2012 values");

        // One 2012 forecast with its bounds against the truth, after 8 weeks of history (a figure to look at).
        var at = rows.Length - Horizon - 1 - 28;
        var shown = forecasts[at]!;
        Directory.CreateDirectory("bike-sharing-out");
        var png = Plots.SamplePlots.Forecast(
            rows[(at - 55)..(at + 1)].Select(x => (double)x.Value).ToArray(),
            rows[(at + 1)..(at + 1 + Horizon)].Select(x => (double)x.Value).ToArray(),
            shown.Forecast.Select(v => (double)v).ToArray(), shown.LowerBound!.Select(v => (double)v).ToArray(), shown.UpperBound!.Select(v => (double)v).ToArray(),
            Path.GetFullPath(Path.Combine("bike-sharing-out", "forecast.png")), $"Bike rentals: 7-day LMU forecast with {model.Info.ConfidenceLevel:P0} bounds (2012)");
        Console.WriteLine($"figure: {png}");

        // The model as a service would load it: scoring input is the window layout (Window + covariate windows).
        var windows = LmuForecastWindows.FromSeries(ml.Data.LoadFromEnumerable(train), nameof(SeriesRow.Value), window, Horizon, options.CovariateColumnNames);
        var zip = Path.GetFullPath(Path.Combine("bike-sharing-out", "model.zip"));
        Cli.PartialOutputFile.WriteFile(zip, p => ml.Model.Save(model, windows.Schema, p));
        Console.WriteLine($"model: {zip} (serve it with: serve --model {zip})");
        return 0;
    }
}
