using System.CommandLine;
using Lmu.MLNet.Samples.Fleet;
using Lmu.MLNet.Samples.Serving;
using Microsoft.Extensions.Hosting;

namespace Lmu.MLNet.Samples.Commands;

/// <summary><c>serve</c>: a saved classifier or forecaster zip behind an HTTP JSON API (needs no libtorch).</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model zip saved with mlContext.Model.Save (classifier, forecaster or any ML.NET model with Vector<Single>, Single, Int32, UInt32, Int64 or text inputs).", Required = true };
        var urls = new Option<string>("--urls") { Description = "Addresses to listen on (semicolon-separated); port 0 picks a free port, printed as 'listening on ...'.", DefaultValueFactory = _ => "http://127.0.0.1:5000" };
        var pool = new Option<int>("--pool") { Description = "PredictionEngines that score at once (they are not thread-safe; further requests wait for one); 0 = 2 x processors, at least 4.", DefaultValueFactory = _ => 0 }.NotNegative();
        var maxBody = new Option<long>("--max-body-bytes") { Description = "Largest request body (413 above it); 0 = 16 x the JSON of one row with every input at its widest, at least 64 KiB (GET /model reports it).", DefaultValueFactory = _ => 0 }.Between(0L);
        // The app-wide --verbose (CommandErrors.Verbose, recursive from the root) also makes serve log stack traces of
        // internal errors (otherwise their type and message); a second option of the same name would clash with it.
        var series = new Option<bool>("--series") { Description = "Also stream forecasts per series: a single-silo Orleans cluster in the process (localhost clustering, in-memory storage) behind POST /series/{id}/observe and GET /series/{id}/forecast." };
        var seriesModel = new Option<string?>("--series-model") { Description = "Streaming model for --series: an engine checkpoint, or a model zip carrying an engine: a forecaster's zip (fitted with 0.4.0 or later) or a typed engine's CheckPoint zip (default: --model, which must then be such a zip)." };
        var siloPort = new Option<int>("--silo-port") { Description = "Silo port of the embedded cluster (--series).", DefaultValueFactory = _ => FleetSilo.DefaultSiloPort }.Between(1, 65535);
        var gatewayPort = new Option<int>("--gateway-port") { Description = "Client gateway port of the embedded cluster (--series).", DefaultValueFactory = _ => FleetSilo.DefaultGatewayPort }.Between(1, 65535);
        var seriesMax = new Option<int>("--series-max") { Description = "Most series --series holds; a reading for a new series beyond it gets 503 (0: no count limit; new series are refused anyway once the process's memory is at 80 % of what it may use).", DefaultValueFactory = _ => 0 }.NotNegative();
        var seriesIdle = new Option<int>("--series-idle") { Description = "Minutes after its last applied reading that --series forgets a series (removes it from the in-memory store; a later reading starts it anew at number 1); 0 (the default) keeps series until DELETE /series/{id}. Set it above the longest interval between a series' readings.", DefaultValueFactory = _ => SeriesLimits.DefaultIdleMinutes }.NotNegative();
        var shutdown = new Option<int>("--shutdown-seconds") { Description = "On Ctrl-C, SIGTERM or SIGHUP: how long requests in flight may take to finish before the service stops anyway (a container's stop grace is often 10 s).", DefaultValueFactory = _ => ServeSettings.DefaultShutdownSeconds }.Between(1, 3600);
        var channels = PredictCommand.ChannelsOption("a request's sequence length (a whole number from 1 to T)");
        var verbose = CommandErrors.Verbose;
        var cmd = new Command("serve", "Prediction service: POST /predict (JSON object in and out), GET /health, GET /model (input schema, classes, horizon).")
        {
            model, urls, pool, maxBody, channels, shutdown, series, seriesModel, siloPort, gatewayPort, seriesMax, seriesIdle,
        };
        cmd.SetAction((r, token) =>
        {
            var settings = new ServeSettings(r.GetValue(model)!, r.GetValue(urls)!, r.GetValue(pool), r.GetValue(maxBody), r.GetValue(verbose), r.GetValue(channels), r.GetValue(shutdown));
            if (!r.GetValue(series))
            {
                return ServeHost.RunAsync(settings, token);
            }

            var (port, gateway) = (r.GetValue(siloPort), r.GetValue(gatewayPort));
            FleetSilo.CheckPorts(port, gateway);
            // Load the streaming model now: a zip without a stream fails here with its advice, before anything listens.
            var streaming = Path.GetFullPath(r.GetValue(seriesModel) ?? settings.ModelPath);
            var engineModel = LmuForecastEngineModel.Load(streaming);
            Console.WriteLine($"series: model {Path.GetFileName(streaming)} (fingerprint {engineModel.Fingerprint[..12]}, window {engineModel.WindowSize}, horizon {engineModel.Horizon}, covariates [{string.Join(", ", engineModel.CovariateNames)}])");
            var limits = new SeriesLimits(r.GetValue(seriesMax), TimeSpan.FromMinutes(r.GetValue(seriesIdle)));
            Console.WriteLine($"series: held in memory, {(limits.MaxSeries > 0 ? $"at most {limits.MaxSeries:N0}, and " : string.Empty)}new ones refused from {SeriesDirectory.MemoryShare:P0} of the process's memory limit (at most the limit less {SeriesDirectory.HeadroomBytes >> 20} MiB); " +
                              (limits.Idle > TimeSpan.Zero ? $"a series is forgotten {limits.Idle.TotalMinutes:N0} minute(s) after its last reading, and every series when the service stops" : "series are kept until DELETE /series/{id} or until the service stops"));
            var endpoints = new SeriesEndpoints(limits);
            return ServeHost.RunAsync(settings, token, new ServeExtension(
                b => b.UseOrleans(silo => FleetSilo.Configure(silo, streaming, engineModel, port, gateway)),
                endpoints.Map,
                () => endpoints.HealthProblem,
                SeriesStartWarning));
        });
        return cmd;
    }

    // A limit already within the headroom once the service (and its silo) has started refuses every new series: said at
    // once rather than by the first 503. Read after the start: read before the silo started, a 120 MiB group was under
    // its line then and refused every series a moment later without a word (limits QA).
    private static string? SeriesStartWarning()
    {
        ProcessMemoryUse.Collect();
        var memory = ProcessMemoryUse.Now();
        return memory.UsedBytes > SeriesDirectory.RefusalLine(memory.LimitBytes)
            ? $"series: warning: {memory.UsedBytes / 1e6:N0} MB are counted already ({memory.What}), over the line of {SeriesDirectory.RefusalLine(memory.LimitBytes) / 1e6:N0} MB for a {memory.LimitBytes / 1e6:N0} MB limit: every new series will be refused; give the service more memory"
            : null;
    }
}
