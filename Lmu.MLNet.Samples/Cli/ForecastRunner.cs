using System.Diagnostics;
using System.Globalization;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Samples.Plots;
using Lmu.MLNet.Samples.Terminal;
using Lmu.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;

namespace Lmu.MLNet.Samples.Cli;

/// <summary>
/// <c>lmu forecast</c> end to end: read and check the series (before any training), backtest (train on each series
/// without its last horizons, forecast each of them from the values before it, score them beside seasonal naive and
/// Naive2 forecast from the same origins), refit on the whole
/// series, and write the model zip, its ONNX graph, the next horizon of every series and a plot, all or nothing.
/// </summary>
internal static class ForecastRunner
{
    public sealed record Settings(
        string Train, ForecastFile.Layout Layout, int Horizon, int Window, int Backtests, int Seasonality, int Epochs, int BatchSize, int Stride, int Units, int Order,
        double LearningRate, int Seed, int Threads, bool Refit, string Output);

    public static int Run(Settings s)
    {
        var total = Stopwatch.StartNew();
        if (s.Horizon < 1)
        {
            throw new ArgumentException($"--horizon {s.Horizon} must be at least 1.");
        }

        // The series travel to the forecaster under these names; a covariate may not take one of them.
        if (s.Layout.Covariates.FirstOrDefault(c => c is "Value" or "SeriesId" or "Window" or "Label") is { } taken)
        {
            throw new ArgumentException($"--covariates '{taken}': the forecaster uses that column name itself; rename the column in the file.");
        }

        // 25: QA's narrow files (3,000,000 rows of two columns, 45 MB) reached about 21 times their size while read and
        // 47 times by the end of the backtest; the 60 MB file of the type's remarks, 9.2 while read.
        var series = InputFileMemory.Read(s.Train, "forecast", 25, () => ForecastFile.Read(s.Train, s.Layout));
        foreach (var x in series)
        {
            var (count, line, steps) = x.Gaps();
            if (count > 0)
            {
                Console.WriteLine($"warning: {x.Describe(s.Train)} has {count} gap(s) in its times (the first before line {line}: {steps:G3} steps instead of 1); " +
                                  "the model treats the series as evenly spaced, so fill the missing times if they matter (business days are fine as they are)" +
                                  (x.FirstGapIsAClockHour()
                                      ? "; that gap is one clock hour, as local times skip when daylight saving starts: write the times in UTC or with their offset (2019-03-31T03:00+02:00)."
                                      : "."));
            }
        }

        var (m, reason) = s.Seasonality > 0 ? (s.Seasonality, "--seasonality") : Seasonality.Guess(series);
        var h = s.Horizon;
        var shortest = series.MinBy(x => x.Values.Length)!;
        var origins = s.Backtests > 0 ? s.Backtests : ForecastDefaults.Origins(shortest.Values.Length, h);
        string? cut = null;
        var window = s.Window > 0 ? s.Window : ForecastDefaults.Window(h, m, origins, shortest, s.Train, out cut);
        if (cut is not null)
        {
            Console.WriteLine(cut);
        }

        CheckLengths(s, series, window, m, origins);
        var covariates = s.Layout.Covariates.ToArray();
        var windows = series.Sum(x => (long)(x.Values.Length - origins * h - window - h + 1));
        var (stride, batch, epochs) = ForecastDefaults.Training(windows, s.Stride, s.BatchSize, s.Epochs);
        var units = s.Units > 0 ? s.Units : ForecastDefaults.Units(windows / stride);
        var order = s.Order > 0 ? s.Order : Math.Min(32, window);
        using var output = new StagedOutput(s.Output);
        // The MLContext's temp files (carried ONNX graphs) in a folder of this run, removed however the run ends.
        using var temp = new RunTempFolder();
        output.Protect(s.Train, "--train", name => name is "forecast.csv" or "forecast.png" or "model.zip" or "model.onnx" or "stream.engine");
        torch.set_num_threads(s.Threads);
        Console.WriteLine($"series: '{s.Train}': {series.Count} series of {series.Min(x => x.Values.Length)}-{series.Max(x => x.Values.Length)} values" +
                          (covariates.Length > 0 ? $", covariates {string.Join(", ", covariates)}" : string.Empty));
        Console.WriteLine($"seasonality m = {m} ({reason}); window {window}, horizon {h}; LMU order {order} x 4 memories, Dense {units}; {windows / stride:N0} training windows (stride {stride}), batch {batch}, {epochs} epochs");

        var ml = new MLContext(seed: s.Seed) { TempFilePath = temp.Folder };
        LibraryWarnings.Show(ml);
        var options = Options(s, window, covariates, stride, batch, epochs, units, order);
        var held = origins * h;
        var history = series.Select(x => x with { Values = x.Values[..^held], Covariates = x.Covariates.Select(c => c[..^held]).ToArray() }).ToList();
        Console.WriteLine($"backtest: training on every series without its last {held} values ...");
        var clock = Stopwatch.StartNew();
        using var backtest = Fit(ml, options, history, series.Count > 1);
        Console.WriteLine($"trained {backtest.Info.ParameterCount:N0} parameters in {clock.Elapsed.TotalSeconds:F1} s");

        // QA: 49 s without a word on one series of 10 million values (each origin's Naive2 reads the whole history).
        Console.WriteLine($"backtest: forecasting {origins} held-out horizon(s) of {series.Count:N0} series with the LMU, seasonal naive and Naive2 ...");
        var scored = ForecastBacktest.Run(backtest, series, window, h, m, origins, covariates);

        // The first series at its last origin.
        var shown = series[0].Values[..^h];
        var last = scored[origins - 1];
        SamplePlots.Forecast(shown[Math.Max(0, shown.Length - 3 * window)..], series[0].Values[^h..], last.Forecast, last.Lower, last.Upper,
            output.File("forecast.png"), $"{Path.GetFileName(s.Train)}{(series[0].Id.Length > 0 ? $" '{series[0].Id}'" : string.Empty)}: backtest forecast with {backtest.Info.ConfidenceLevel:P0} bounds");

        var final = backtest;
        if (s.Refit)
        {
            Console.WriteLine();
            Console.WriteLine("refitting on the whole series ...");
            clock.Restart();
            final = Fit(ml, options, series, series.Count > 1);
            Console.WriteLine($"trained in {clock.Elapsed.TotalSeconds:F1} s");
        }

        try
        {
            var lastWindows = LmuForecastWindows.LastWindows(ForecastScoring.SeriesView(series, covariates), "Value", window, "SeriesId", covariates);
            ForecastScoring.WriteForecasts(output.File("forecast.csv"), series, ForecastScoring.Forecast(final, lastWindows));
            ml.Model.Save(final, lastWindows.Schema, output.File("model.zip"));
            final.ExportOnnx(output.File("model.onnx"));
            // The start of a stream as an engine checkpoint (noted by QA: a CLI user had no way to stream without writing
            // code). model.zip carries the same since 0.4.0; this file needs no ONNX Runtime to read, and scripts use it.
            final.CreateEngine().CheckPoint(output.File("stream.engine"));
        }
        finally
        {
            if (!ReferenceEquals(final, backtest))
            {
                final.Dispose();
            }
        }

        Console.WriteLine();
        foreach (var file in output.Commit())
        {
            Console.WriteLine($"wrote {file}");
        }

        // How to use the model, as classify says (QA: forecast said nothing, and predict's input layout is not guessable).
        var zip = ClassifyRunner.ShellWord(Path.Combine(s.Output, "model.zip"));
        var withCovariates = covariates.Length == 0 ? string.Empty : $" --covariates {ClassifyRunner.ShellWord(string.Join(',', covariates))}";
        Console.WriteLine($"forecast from new windows: {CommandName.Of("predict")} --model {zip} --input windows.csv --output forecasts.csv{withCovariates} " +
                          $"(each line: a series' last {window} values, oldest first{(covariates.Length == 0 ? string.Empty : $", then each covariate's last {window} values, in that order")})");
        var engineFile = ClassifyRunner.ShellWord(Path.Combine(s.Output, "stream.engine"));
        Console.WriteLine($"forecast one series as its readings arrive: {CommandName.Of("forecast-stream")} --model {engineFile} --observations readings.csv --output forecasts.csv " +
                          $"--checkpoint next.engine (no header; each line: a reading{(covariates.Length == 0 ? string.Empty : $" and its {string.Join(", ", covariates)}")}, oldest first; " +
                          $"forecasts start once {window} readings were seen; next.engine resumes the stream)");
        Console.WriteLine($"done in {total.Elapsed.TotalSeconds:F1} s");
        return 0;
    }

    private static void CheckLengths(Settings s, IReadOnlyList<ForecastSeriesData> series, int window, int m, int origins)
    {
        // With no window left (the default window comes from the shortest series), the shortest series is the one to name
        // (the first one was named, however long; found by QA).
        var least = ForecastDefaults.MinWindow;
        foreach (var x in window < least ? series.OrderBy(x => x.Values.Length) : series.AsEnumerable())
        {
            var need = Math.Max(window, least) + (origins + 1) * s.Horizon;
            if (window < least || x.Values.Length < need)
            {
                throw new InvalidDataException(
                    $"{x.Describe(s.Train)} has {x.Values.Length} values; window {Math.Max(window, least)} + horizon {s.Horizon} needs at least {need} " +
                    $"(one training window of {Math.Max(window, least) + s.Horizon} and {origins} horizon(s) held out for the backtest): use a smaller --window, --horizon or --backtests, or drop the series.");
            }

            if (x.Values.Length - origins * s.Horizon <= m)
            {
                throw new InvalidDataException($"{x.Describe(s.Train)} has {x.Values.Length} values, too few for seasonality {m} once the last horizon is held out: give a smaller --seasonality.");
            }
        }
    }

    private static LmuForecastingOptions Options(Settings s, int window, string[] covariates, int stride, int batch, int epochs, int units, int order) => new()
    {
        SeriesColumnName = "Value", SeriesIdColumnName = "SeriesId", CovariateColumnNames = covariates,
        WindowSize = window, Horizon = s.Horizon, WindowStride = stride,
        // Per-window scaling: series of any level and trend look alike to the network (the M4 and bike recipes).
        Scaling = LmuForecastScaling.PerWindow, LowerBoundColumnName = "Lower", UpperBoundColumnName = "Upper",
        Layer = new LmuLayerOptions
        {
            MemoryD = 4, Order = order, Theta = window, HiddenCell = HiddenCell.Dense, HiddenUnits = units,
            HiddenActivation = LmuActivation.Tanh, InputToHidden = true,
        },
        // Absolute error: what sMAPE, MASE and MAE measure.
        Loss = LmuLoss.MeanAbsoluteError,
        Training = new LmuTrainingOptions { Epochs = epochs, BatchSize = batch, LearningRate = s.LearningRate, Seed = s.Seed },
        ValidationFraction = 0.1,
    };

    private static LmuForecastTransformer Fit(MLContext ml, LmuForecastingOptions options, IReadOnlyList<ForecastSeriesData> series, bool many)
    {
        var copy = options.Clone();
        if (!many)
        {
            copy.SeriesIdColumnName = null;
        }

        return TrainingProgressBar.Run("training", copy.Training.Epochs, progress =>
        {
            copy.Progress = progress;
            return ml.Forecasting.ForecastByLmu(copy).Fit(ForecastScoring.SeriesView(series, copy.CovariateColumnNames));
        });
    }
}
