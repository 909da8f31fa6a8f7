using System.CommandLine;
using Lmu.MLNet.Samples.Fleet;

namespace Lmu.MLNet.Samples.Commands;

/// <summary><c>fleet</c>: N series x M readings through a single-silo Orleans cluster in the process, beside the in-process engine.</summary>
internal static class FleetCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "Streaming model: an engine checkpoint or a model zip carrying an engine (a forecaster's zip, fitted with 0.4.0 or later, or a typed engine's CheckPoint zip); default: train a small one (window 24, horizon 6, one covariate) into fleet-out/model.zip." };
        var series = new Option<int>("--series") { Description = "Series (one grain each).", DefaultValueFactory = _ => 10_000 }.Between(1);
        var readings = new Option<int>("--readings") { Description = "Readings per series.", DefaultValueFactory = _ => 30 }.Between(1);
        var batch = new Option<int>("--batch") { Description = "Readings per grain call (one storage write per call).", DefaultValueFactory = _ => 1 }.Between(1);
        var inFlight = new Option<int>("--in-flight") { Description = "Grain calls in flight at once.", DefaultValueFactory = _ => 256 }.Between(1);
        var reference = new Option<int>("--reference-series") { Description = "Series fed through in-process engines for the reference rate (at most --series).", DefaultValueFactory = _ => 10_000 }.Between(1);
        var siloPort = new Option<int>("--silo-port") { Description = "Silo port of the embedded cluster.", DefaultValueFactory = _ => FleetSilo.DefaultSiloPort }.Between(1, 65535);
        var gatewayPort = new Option<int>("--gateway-port") { Description = "Client gateway port of the embedded cluster.", DefaultValueFactory = _ => FleetSilo.DefaultGatewayPort }.Between(1, 65535);
        var seed = new Option<int>("--seed") { Description = "Seed of the default model's training.", DefaultValueFactory = _ => 1 };
        var cmd = new Command("fleet", "Streaming forecasts for many series on a single-silo Orleans cluster in the process: readings/s, call latency p50/p99, memory per series, beside the in-process engine.")
        {
            model, series, readings, batch, inFlight, reference, siloPort, gatewayPort, seed,
        };
        cmd.SetAction((r, token) =>
        {
            FleetSilo.CheckPorts(r.GetValue(siloPort), r.GetValue(gatewayPort));
            var path = r.GetValue(model) ?? FleetModel.Train("fleet-out", r.GetValue(seed));
            return FleetRun.RunAsync(new FleetRun.Settings(path, r.GetValue(series), r.GetValue(readings), r.GetValue(batch), r.GetValue(inFlight), r.GetValue(reference), r.GetValue(siloPort), r.GetValue(gatewayPort)), token);
        });
        return cmd;
    }
}
