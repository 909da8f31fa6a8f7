using System.CommandLine;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Samples.Cli;

namespace Lmu.MLNet.Samples.Commands;

/// <summary><c>forecast</c>: train the LMU forecaster on the user's own series, backtest it against seasonal naive and Naive2, write the model.</summary>
internal static class ForecastCommand
{
    public static Command Create()
    {
        var train = new Option<string>("--train") { Description = "CSV/TSV of the series.", Required = true };
        var value = new Option<string?>("--value") { Description = "Long layout: the value column (a header name or a 1-based column number)." };
        var id = new Option<string?>("--series-id") { Description = "The series id column, for many series (long layout: stacked rows; wide layout: the row's name)." };
        var time = new Option<string?>("--time") { Description = "Long layout: a time column (numbers, dates, or quarters such as 2010Q1); rows are ordered by it within each series." };
        var covariates = new Option<string?>("--covariates") { Description = "Long layout: comma-separated covariate columns (known with each observation, e.g. a day of week)." };
        var layout = new Option<string>("--layout") { Description = "long (one observation per row) or wide (one series per row, as the M4 files).", DefaultValueFactory = _ => "long" };
        layout.AcceptOnlyFromAmong("long", "wide");
        var header = new Option<string>("--header") { Description = "Whether the first line names the columns: auto, yes or no.", DefaultValueFactory = _ => "auto" };
        var horizon = new Option<int>("--horizon") { Description = "Steps to forecast.", Required = true };
        var window = new Option<int>("--window") { Description = $"Input window in steps (0: max(8, 2 x horizon, 3 x seasonality; a week for hourly data), at most what the shortest series allows; a warning names the series that cut it)." }.NotNegative();
        var backtests = new Option<int>("--backtests") { Description = "Backtest origins: the last N horizons of each series are held out and forecast one by one (0: about a fifth of the shortest series, 1 to 10)." }.NotNegative();
        var seasonality = new Option<int>("--seasonality") { Description = "Seasonal period m for seasonal naive, Naive2 and MASE (0: from the time column's spacing, else the autocorrelation)." }.NotNegative();
        var epochs = new Option<int>("--epochs") { Description = $"Epochs (0: about {ForecastDefaults.TargetSteps:N0} gradient steps, 10-200 epochs)." }.NotNegative();
        var batch = new Option<int>("--batch-size") { Description = "Windows per gradient step (0: 16, 32 or 128 by the number of windows)." }.NotNegative();
        var stride = new Option<int>("--stride") { Description = $"Distance between training windows (0: keeps at most {ForecastDefaults.MaxWindows:N0} windows)." }.NotNegative();
        var units = new Option<int>("--units") { Description = "Dense hidden units after the LMU memory (0: 64, or 256 from 10,000 training windows)." }.NotNegative();
        var order = new Option<int>("--order") { Description = $"Legendre order of each of the 4 memories (0: the smaller of 32 and the window; at most {LmuLayerOptions.MaxOrder})." }.Between(0, LmuLayerOptions.MaxOrder);
        var rate = new Option<double>("--learning-rate") { Description = "Adam learning rate (cosine schedule).", DefaultValueFactory = _ => 2e-3 }.Within();
        var noRefit = new Option<bool>("--no-refit") { Description = "Save the backtest model (trained without each series' last horizon) instead of refitting on everything." };
        var seed = new Option<int>("--seed") { Description = "Seed of weights and shuffling.", DefaultValueFactory = _ => 1 };
        var threads = new Option<int>("--threads") { Description = "Torch intra-op threads.", DefaultValueFactory = _ => 1 };
        var output = new Option<string>("--output") { Description = "Folder for model.zip, model.onnx, stream.engine (for forecast-stream), forecast.csv and forecast.png.", DefaultValueFactory = _ => "lmu-forecast-out" };
        // QA: --window 1 was refused in the library's terms after "training" was printed; --covariates "," and "" ran with
        // no covariates, where every other list option refuses an empty entry.
        window.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && int.TryParse(result.Tokens[^1].Value, System.Globalization.CultureInfo.InvariantCulture, out var w) && w == 1)
            {
                result.AddError("--window 1 is too short: each window is scaled by its own values, so it needs at least 2 steps (0: the default)");
            }
        });
        covariates.Validators.Add(result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : null;
            if (text is not null && text.Split(',').Any(c => c.Trim().Length == 0))
            {
                result.AddError($"--covariates '{text}' has an empty entry: give comma-separated column names");
            }
        });
        var cmd = new Command("forecast", "Train the LMU forecaster on your own series; backtests the last horizon against seasonal naive and Naive2, writes the model zip, ONNX, forecasts and a plot.")
        {
            train, value, id, time, covariates, layout, header, horizon, window, backtests, seasonality, epochs, batch, stride, units, order, rate, noRefit, seed, threads, output,
        };
        cmd.SetAction(r => ForecastRunner.Run(new ForecastRunner.Settings(
            r.GetValue(train)!,
            new ForecastFile.Layout(r.GetValue(layout) == "wide", r.GetValue(value), r.GetValue(id), r.GetValue(time),
                (r.GetValue(covariates) ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries), r.GetValue(header)!),
            r.GetValue(horizon), r.GetValue(window), r.GetValue(backtests), r.GetValue(seasonality), r.GetValue(epochs), r.GetValue(batch), r.GetValue(stride), r.GetValue(units), r.GetValue(order),
            r.GetValue(rate), r.GetValue(seed), r.GetValue(threads), !r.GetValue(noRefit), r.GetValue(output)!)));
        return cmd;
    }
}
