using System.CommandLine;
using Lmu.MLNet.Samples.Serving;

namespace Lmu.MLNet.Samples.Commands;

/// <summary>
/// <c>predict</c>: scores CSV rows with a saved model zip, without libtorch. A classifier zip (its input schema has the
/// features column) reads flattened feature rows, each followed by the row's length when the model was trained with a
/// length column; a forecaster zip (it has the window column instead) reads rows of the window followed by each
/// covariate's window and writes the forecast vectors (and bounds). The output CSV starts with a header.
/// </summary>
internal static class PredictCommand
{
    /// <summary>The classifier's channel count, which bounds a sequence length (shared with <c>serve</c>).</summary>
    public static Option<int> ChannelsOption(string bounded) => new Option<int>("--channels")
    {
        Description = $"Channels C of the classifier (LmuClassifierOptions.Channels): {bounded} must not exceed T = features width / C.",
        DefaultValueFactory = _ => 1,
    }.Between(1);

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model zip saved with mlContext.Model.Save.", Required = true };
        var input = new Option<string>("--input")
        {
            Description = "CSV without header, one row per line (invariant culture): the flattened features (T x C values in the layout the model was trained with: step-major by default), then the row's length n " +
                          "(a whole number, 1 <= n <= T) when the classifier was trained with a length column; for a forecaster the window then each covariate window.",
            Required = true,
        };
        var output = new Option<string>("--output")
        {
            Description = "CSV written (round-trip format) with a header naming each value: the Score values, the PredictedLabel key and PredictedLabelValue, the class it stands for (empty where the scores are NaN), " +
                          "or for a forecaster the forecast vector then the lower and upper bounds when the model has them.",
            Required = true,
        };
        var column = new Option<string>("--features") { Description = "Features column name (classifier).", DefaultValueFactory = _ => "Features" }.NotBlank();
        var length = new Option<string?>("--length-column")
        {
            Description = "Sequence-length column of a classifier trained with LengthColumnName (the last value of each CSV row). " +
                          "Default: the Single/Int32/UInt32/Int64 input column the model's ONNX scorer reads, found in the saved input schema; none when there is none.",
        }.NotBlank();
        var channels = ChannelsOption("each row's length");
        var window = new Option<string>("--window") { Description = "Window column name (forecaster).", DefaultValueFactory = _ => "Window" }.NotBlank();
        var covariates = new Option<string[]>("--covariates")
        {
            Description = "Covariate window columns of a forecaster, in the CSV's order (comma-separated). Default none.",
            DefaultValueFactory = _ => [],
            CustomParser = r => r.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray(),
        };
        var forecast = new Option<string>("--forecast") { Description = "Forecast output column name (forecaster).", DefaultValueFactory = _ => "Forecast" }.NotBlank();
        var cmd = new Command("predict", "Load a saved LMU model (classifier or forecaster) and score CSV rows (needs no libtorch).")
        {
            model, input, output, column, length, channels, window, covariates, forecast,
        };
        cmd.SetAction(r => CsvScoring.Run(
            r.GetValue(model)!, r.GetValue(input)!, r.GetValue(output)!,
            new CsvScoring.ClassifierColumns(r.GetValue(column)!, r.GetValue(length), r.GetValue(channels)),
            new CsvScoring.ForecastColumns(r.GetValue(window)!, r.GetValue(covariates)!, r.GetValue(forecast)!)));
        return cmd;
    }
}
