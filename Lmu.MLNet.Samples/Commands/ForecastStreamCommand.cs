using System.CommandLine;
using Lmu.MLNet.Samples.Serving;

namespace Lmu.MLNet.Samples.Commands;

/// <summary><c>forecast-stream</c>: resumes a streaming forecast engine from a checkpoint, feeds it observations, checkpoints again.</summary>
internal static class ForecastStreamCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model")
        {
            Description = "Engine checkpoint written by LmuForecastEngine.CheckPoint (transformer.CreateEngine().CheckPoint(path) for a fresh stream), or a model zip: a forecaster's zip saved by mlContext.Model.Save or lmu forecast (fitted with 0.4.0 or later: a fresh stream) or one written by the typed engine's CheckPoint(mlContext, path); then --checkpoint writes such a zip with the stream's state.",
            Required = true,
        };
        var observations = new Option<string>("--observations")
        {
            Description = "CSV, one observation per line (invariant culture): the value, then each covariate in the engine's order.",
            Required = true,
        };
        var output = new Option<string?>("--output")
        {
            Description = "CSV written, one line per observation: the observation count, then the forecast (round-trip format; none before the window is full). Default: not written.",
        };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "Checkpoint written after the last observation. Default: not written." };
        var cmd = new Command("forecast-stream", "Resume a streaming LMU forecast engine from a checkpoint and feed it observations (needs no libtorch).")
        {
            model, observations, output, checkpoint,
        };
        cmd.SetAction(r => ForecastStreaming.Run(r.GetValue(model)!, r.GetValue(observations)!, r.GetValue(output), r.GetValue(checkpoint)));
        return cmd;
    }
}
