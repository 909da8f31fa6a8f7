using System.CommandLine;
using Lmu.MLNet.Samples.Serving;

namespace Lmu.MLNet.Samples.Commands;

/// <summary>
/// <c>predict</c>: scores CSV rows with a saved model zip, without libtorch. A classifier zip (its input schema has the
/// features column) reads flattened feature rows; a forecaster zip (it has the window column instead) reads rows of the
/// window followed by each covariate's window and writes the forecast vectors.
/// </summary>
internal static class PredictCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model zip saved with mlContext.Model.Save.", Required = true };
        var input = new Option<string>("--input")
        {
            Description = "CSV, one row per line (invariant culture): the flattened features, or for a forecaster the window then each covariate window.",
            Required = true,
        };
        var output = new Option<string>("--output")
        {
            Description = "CSV written (round-trip format): the Score values then the PredictedLabel key, or for a forecaster the forecast vector.",
            Required = true,
        };
        var column = new Option<string>("--features") { Description = "Features column name (classifier).", DefaultValueFactory = _ => "Features" };
        var window = new Option<string>("--window") { Description = "Window column name (forecaster).", DefaultValueFactory = _ => "Window" };
        var covariates = new Option<string[]>("--covariates")
        {
            Description = "Covariate window columns of a forecaster, in the CSV's order (comma-separated). Default none.",
            DefaultValueFactory = _ => [],
            CustomParser = r => r.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray(),
        };
        var forecast = new Option<string>("--forecast") { Description = "Forecast output column name (forecaster).", DefaultValueFactory = _ => "Forecast" };
        var cmd = new Command("predict", "Load a saved LMU model (classifier or forecaster) and score CSV rows (needs no libtorch).")
        {
            model, input, output, column, window, covariates, forecast,
        };
        cmd.SetAction(r => CsvScoring.Run(
            r.GetValue(model)!, r.GetValue(input)!, r.GetValue(output)!, r.GetValue(column)!,
            new CsvScoring.ForecastColumns(r.GetValue(window)!, r.GetValue(covariates)!, r.GetValue(forecast)!)));
        return cmd;
    }
}
