using System.CommandLine;
using Lmu.MLNet.Samples.Serving;

namespace Lmu.MLNet.Samples.Commands;

/// <summary><c>predict</c>: scores CSV rows with a saved model zip, without libtorch.</summary>
internal static class PredictCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model zip saved with mlContext.Model.Save.", Required = true };
        var input = new Option<string>("--input") { Description = "CSV: one row per line, the flattened features (invariant culture).", Required = true };
        var output = new Option<string>("--output") { Description = "CSV written: the Score values (round-trip format), then the PredictedLabel key.", Required = true };
        var column = new Option<string>("--features") { Description = "Features column name.", DefaultValueFactory = _ => "Features" };
        var cmd = new Command("predict", "Load a saved LMU model and score CSV rows (needs no libtorch).") { model, input, output, column };
        cmd.SetAction(r => CsvScoring.Run(r.GetValue(model)!, r.GetValue(input)!, r.GetValue(output)!, r.GetValue(column)!));
        return cmd;
    }
}
