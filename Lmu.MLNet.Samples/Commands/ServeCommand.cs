using System.CommandLine;
using Lmu.MLNet.Samples.Serving;

namespace Lmu.MLNet.Samples.Commands;

/// <summary><c>serve</c>: a saved classifier or forecaster zip behind an HTTP JSON API (needs no libtorch).</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model zip saved with mlContext.Model.Save (classifier, forecaster or any ML.NET model with Vector<Single>, Single, Int32, UInt32, Int64 or text inputs).", Required = true };
        var urls = new Option<string>("--urls") { Description = "Addresses to listen on (semicolon-separated); port 0 picks a free port, printed as 'listening on ...'.", DefaultValueFactory = _ => "http://127.0.0.1:5000" };
        var pool = new Option<int>("--pool") { Description = "PredictionEngines kept for reuse (they are not thread-safe); 0 = 2 x processors, at least 4.", DefaultValueFactory = _ => 0 };
        var cmd = new Command("serve", "Prediction service: POST /predict (JSON object in and out), GET /health, GET /model (input schema, classes, horizon).")
        {
            model, urls, pool,
        };
        cmd.SetAction((r, token) => ServeHost.RunAsync(r.GetValue(model)!, r.GetValue(urls)!, r.GetValue(pool), token));
        return cmd;
    }
}
