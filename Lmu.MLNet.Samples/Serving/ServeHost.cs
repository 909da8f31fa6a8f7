using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// The prediction service: an ASP.NET Core minimal API over <see cref="ModelService"/>. POST /predict (one JSON object
/// in, one out, see <see cref="PredictEndpoint"/>), GET /health (503 with a reason once scoring fails), GET /model.
/// Every error answer is JSON; failed requests are logged to stderr.
/// </summary>
internal static class ServeHost
{
    /// <param name="settings">The command line.</param>
    /// <param name="cancellationToken">Stops the service.</param>
    /// <param name="extend">Adds services and routes beside /predict (serve --series: a silo and the series routes).</param>
    public static async Task<int> RunAsync(ServeSettings settings, CancellationToken cancellationToken, ServeExtension? extend = null)
    {
        // Declared first, so disposed last: after the host has stopped taking requests; its Dispose then waits for any
        // prediction still running before it disposes the engines and the model.
        ServeUrls.Check(settings.Urls);
        // The model's carried graphs go to a folder of this run, removed when it stops, is interrupted or hung up on, or
        // by the next run after a SIGKILL: an interrupted or killed serve left them in TMPDIR for good (serve QA).
        using var temp = new Cli.RunTempFolder();
        // The host already gave requests in flight --shutdown-seconds; a prediction still running after that is not
        // waited for (the pool's own 30 s kept a stopping process past the promised time: review); its engines are then
        // left to the process's exit rather than disposed under it.
        using var service = new ModelService(settings.ModelPath, settings.PoolSize, settings.MaxBodyBytes, settings.Channels, temp.Folder, TimeSpan.FromSeconds(1));
        await using var app = Build(service, settings, extend: extend);
        // A closed terminal or ssh session (SIGHUP) ended the process at once, cutting requests in flight (serve QA): it
        // stops the service as Ctrl-C and SIGTERM do.
        using var hangUp = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            app.Lifetime.StopApplication();
        });
        var startLog = app.Services.GetRequiredService<StartLog>();
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (Exception e) when (e is FormatException or IOException
                                      || (e is InvalidOperationException && (e.Message.Contains("endpoint", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("address", StringComparison.OrdinalIgnoreCase))))
        {
            // A bad or busy address: the app's one-line error names the option (the host's own log of it, a stack
            // trace, is muted while starting unless --verbose).
            throw new ArgumentException($"serve could not listen on --urls '{settings.Urls}': {e.Message}", e);
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested || app.Lifetime.ApplicationStopping.IsCancellationRequested)
        {
            // Ctrl-C while the host (and with --series, the silo) started cancelled the start: it ended in
            // "error: TaskCanceledException" (found by QA).
            Console.Error.WriteLine("interrupted while the service started: not serving.");
            return 2;
        }
        finally
        {
            startLog.Started();
        }

        // The bound addresses (a port of 0 is resolved here); tests read this line to find the service.
        foreach (var url in app.Urls)
        {
            Console.WriteLine($"listening on {url}");
        }

        Console.WriteLine($"model {service.ModelPath}: {string.Join(", ", service.Inputs.Select(i => $"{i.Name}{(i.Required ? "" : "?")}"))} -> {string.Join(", ", service.Outputs.Select(o => o.Name))}; engine pool {service.PoolSize}; body limit {service.MaxBodyBytes} bytes; integrity {service.Integrity}" +
                          (ConnectionCap is { } files ? $"; connections at most {files.Connections} at once (open-files limit {files.Limit})" : string.Empty));
        if (extend?.StartedLine?.Invoke() is { } started)
        {
            Console.WriteLine(started);
        }

        Console.Out.Flush();
        // Said when stopping starts: a stalled client held a stopping service for the host's 30 s without a word (serve QA).
        app.Lifetime.ApplicationStopping.Register(() =>
        {
            try
            {
                Console.WriteLine($"stopping: requests in flight may take up to {settings.ShutdownSeconds} s to finish (--shutdown-seconds)");
            }
            catch (IOException)
            {
                // A hung-up terminal: nobody reads it, and the stop must go on (a throwing callback would fail StopApplication).
            }
        });
        // Returns once the host has stopped: Kestrel lets running requests finish first.
        await app.WaitForShutdownAsync(cancellationToken);
        return 0;
    }

    // The open-files reading the last Build capped connections by (the start line prints it).
    private static OpenFiles? ConnectionCap { get; set; }

    /// <summary>The service over <paramref name="service"/> (not started); <paramref name="log"/> adds a logger (tests).</summary>
    public static WebApplication Build(ModelService service, ServeSettings settings, ILoggerProvider? log = null, ServeExtension? extend = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseUrls(settings.Urls);
        // One reading for the refusal, the cap and the start line (regression QA: a second reading, after more files were
        // open, printed another cap than the one enforced).
        var files = ConnectionCap = OpenFiles.Now();
        if (files is { Connections: < OpenFiles.MinimumConnections })
        {
            throw new ArgumentException(
                $"serve needs more open files: this process may open {files.Limit} and holds {files.Open} already (its assemblies, the model's ONNX Runtime), " +
                $"and {OpenFiles.Reserve} more are kept for the runtime, which leaves {files.Connections} for connections. Raise the limit " +
                "(ulimit -n, a container's nofile ulimit, systemd's LimitNOFILE) to a few thousand.");
        }

        builder.WebHost.ConfigureKestrel(o =>
        {
            o.Limits.MaxRequestBodySize = service.MaxBodyBytes;
            // Connections past what the open-files limit leaves are closed at once, where they made the process fail.
            o.Limits.MaxConcurrentConnections = files?.Connections;
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(settings.ShutdownSeconds));
        builder.Logging.ClearProviders();
        // One line per event on stderr (stdout carries the "listening on" line); the framework's own chatter only from warnings up.
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        // A connection past the open-files cap is closed with a warning line each: 2,060 lines in a 20 s flood of 1,200
        // clients (the cap is on the start line instead).
        builder.Logging.AddFilter("Microsoft.AspNetCore.Server.Kestrel.Connections", LogLevel.Error);
        // serve --series: once the host is stopping (Ctrl-C, even during the start), the silo's errors about cancelled
        // work are noise (a Ctrl-C while it started printed Orleans' stack traces; found by QA). The rule names the
        // console provider, so it outranks the category rules Orleans adds for itself.
        IHostApplicationLifetime? lifetime = null;
        builder.Logging.AddFilter<ConsoleLoggerProvider>("Orleans", level => level >= LogLevel.Warning && lifetime?.ApplicationStopping.IsCancellationRequested != true);
        // A message that reached a series' grain while it was deactivated (a DELETE, a forecast of an unknown id) was
        // logged by Orleans as a warning each time it was forwarded or refused: 85 lines for 9,000 racing calls, which
        // the series routes now send again (TransientRetry) and answer themselves. Shown with --verbose.
        builder.Logging.AddFilter<ConsoleLoggerProvider>("Orleans.Messaging", level => level >= (settings.Verbose ? LogLevel.Warning : LogLevel.Error) && lifetime?.ApplicationStopping.IsCancellationRequested != true);
        var startLog = new StartLog(settings.Verbose);
        builder.Logging.AddFilter(StartLog.Category, startLog.Allows);
        builder.Services.AddSingleton(startLog);
        if (log is not null)
        {
            builder.Logging.AddProvider(log);
        }

        builder.Services.Configure<JsonOptions>(o =>
        {
            // A score may be NaN when the model itself produces it; say so rather than failing the answer.
            o.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals;
        });
        extend?.Configure(builder);
        var app = builder.Build();
        lifetime = app.Lifetime;
        var logger = new RefusalLogger(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("serve"), RefusalLogger.DefaultPerMinute);
        // Stopped, not stopping: requests still running may be refused until then; the console logger outlives it.
        app.Lifetime.ApplicationStopped.Register(logger.Dispose);
        // A path no route takes (a typo, /series/.. resolved to /series) was answered 404, and a route asked with another
        // method 405, each with an empty body, where every other error answer is JSON (serve QA). Only answers without a
        // body are filled in, so the status stays the router's.
        var routes = "POST /predict, GET /health and GET /model" + (extend is null ? string.Empty : ", and POST /series/{id}/observe, GET /series/{id}/forecast and DELETE /series/{id}");
        // Read once: past the host's timeout its service provider is disposed, and app.Lifetime read in an exception
        // filter then threw, so the filter failed and Kestrel logged cut-off requests as unhandled errors (regression QA).
        var stopping = app.Lifetime.ApplicationStopping;
        app.UseStatusCodePages(async status =>
        {
            var http = status.HttpContext;
            if (http.RequestAborted.IsCancellationRequested)
            {
                // The client has gone (a refusal left without a body for that reason): nothing can be written to it.
                return;
            }

            var what = http.Response.StatusCode switch
            {
                StatusCodes.Status404NotFound => $"No route {http.Request.Method} {http.Request.Path}",
                StatusCodes.Status405MethodNotAllowed => $"{http.Request.Path} does not answer {http.Request.Method}",
                _ => $"{http.Request.Method} {http.Request.Path} answered {http.Response.StatusCode}",
            };
            try
            {
                await http.Response.WriteAsJsonAsync(new { error = $"{what}: this service answers {routes}." });
            }
            catch (Exception e) when (stopping.IsCancellationRequested && e is ObjectDisposedException or OperationCanceledException or IOException)
            {
                // Past the host's timeout its services and the connection are gone: nothing can be written (regression QA).
            }
        });
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            catch (BadHttpRequestException e) when (!context.Response.HasStarted)
            {
                // Kestrel's own refusals while a handler reads the body: over the body limit (413), arriving too slowly
                // (408), a client that stopped sending (400). They were answered 500 and logged as internal failures
                // (found by QA on /series/{id}/observe and with slow clients); the client's status and a warning now.
                // Over the limit, the option that sets it is named, as /predict's own 413 does (QA: /series answered
                // Kestrel's "Request body too large. The max request body size is 79568 bytes.").
                var reason = e.StatusCode == StatusCodes.Status413PayloadTooLarge ? PredictEndpoint.TooLargeMessage(service.MaxBodyBytes) : e.Message;
                logger.LogWarning("{Method} {Path} answered {Status}: {Reason}", context.Request.Method, context.Request.Path, e.StatusCode, reason);
                context.Response.Clear();
                context.Response.StatusCode = e.StatusCode;
                if (!context.RequestAborted.IsCancellationRequested)
                {
                    // A client that has gone cannot read the answer; writing to its aborted connection would throw.
                    await context.Response.WriteAsJsonAsync(new { error = reason });
                }
            }
            catch (IOException e) when (!context.Response.HasStarted && FromKestrel(e))
            {
                // Kestrel's other refusals of what the client sent: a chunk size past its bound ("Bad chunk size data."
                // for sizes of 9 hex digits or more; other bad sizes are a BadHttpRequestException) or a connection reset while
                // the body arrived. They were answered 500 and logged as internal failures without a cap (hostile-clients
                // QA): a warning under the refusals' cap, and 400 when the client can still read it.
                logger.LogWarning("{Method} {Path} answered 400: the request could not be read: {Reason}", context.Request.Method, context.Request.Path, e.Message);
                context.Response.Clear();
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                if (!context.RequestAborted.IsCancellationRequested)
                {
                    await context.Response.WriteAsJsonAsync(new { error = $"The request could not be read: {e.Message}" });
                }
            }
            catch (ServingUnavailableException e) when (!context.Response.HasStarted)
            {
                // A call the service could not take now (serve --series: a grain refused it on every attempt while
                // racing calls deactivated it): the client sends it again; no internal failure.
                logger.LogWarning("{Method} {Path} answered 503: {Reason}", context.Request.Method, context.Request.Path, e.Message);
                context.Response.Clear();
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                context.Response.Headers.RetryAfter = "1";
                if (!context.RequestAborted.IsCancellationRequested)
                {
                    await context.Response.WriteAsJsonAsync(new { error = e.Message });
                }
            }
            catch (Exception e) when (stopping.IsCancellationRequested
                                      && (e is OperationCanceledException or ObjectDisposedException || context.RequestAborted.IsCancellationRequested))
            {
                // A request the stopping service cut off (its body still arriving when the connections were closed, or
                // still running when the host's time ran out and its services were disposed) is no failure inside the
                // service: it was logged as one, and past the host's timeout Kestrel logged it as an unhandled error with
                // its stack trace (serve QA, regression QA at 2-4 % of a core).
                logger.LogWarning("{Method} {Path} was cut off: the service is stopping", context.Request.Method, context.Request.Path);
                if (!context.RequestAborted.IsCancellationRequested && !context.Response.HasStarted)
                {
                    try
                    {
                        context.Response.Clear();
                        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                        await context.Response.WriteAsJsonAsync(new { error = "The service is stopping; send the request again (to another instance, or once it is back)." });
                    }
                    catch (Exception late) when (late is ObjectDisposedException or OperationCanceledException or IOException or InvalidOperationException)
                    {
                        // Past the host's timeout its services are gone and the connection with them: no answer can be sent.
                    }
                }
            }
            catch (Exception e) when (!context.RequestAborted.IsCancellationRequested && !context.Response.HasStarted)
            {
                // An internal failure: the reason goes to the log (a stack trace only with --verbose), the caller gets
                // a JSON 500 that names nothing on the server.
                if (settings.Verbose)
                {
                    logger.LogError(e, "{Method} {Path} failed inside the service", context.Request.Method, context.Request.Path);
                }
                else
                {
                    logger.LogError("{Method} {Path} failed inside the service: {Type}: {Message}", context.Request.Method, context.Request.Path, e.GetType().Name, e.Message);
                }

                context.Response.Clear();
                context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                await context.Response.WriteAsJsonAsync(new { error = "Internal error while answering the request; the server log has the reason." });
            }
        });
        app.MapGet("/health", () => (service.HealthProblem ?? extend?.HealthProblem?.Invoke()) is { } problem
            ? Results.Json(new { status = "unhealthy", reason = problem }, statusCode: StatusCodes.Status503ServiceUnavailable)
            : Results.Json(new { status = "ok" }));
        app.MapGet("/model", () => Results.Json(service.Describe()));
        app.MapPost("/predict", (HttpRequest request) => PredictEndpoint.HandleAsync(request.HttpContext, service, logger));
        extend?.Map(app, logger);
        return app;
    }

    // Thrown by Kestrel itself (its HTTP parser or its socket transport), so about the request, not the service.
    private static bool FromKestrel(Exception e) =>
        e.TargetSite?.DeclaringType?.Namespace?.StartsWith("Microsoft.AspNetCore.Server.Kestrel", StringComparison.Ordinal) == true;

    /// <summary>
    /// Mutes the host's own log while it starts (a failed start is logged there with its stack trace, then thrown to
    /// <see cref="RunAsync"/>, which reports it in one line); after the start, and with --verbose, it logs as usual.
    /// </summary>
    private sealed class StartLog(bool verbose)
    {
        public const string Category = "Microsoft.Extensions.Hosting.Internal.Host";

        private volatile bool _started;

        public void Started() => _started = true;

        public bool Allows(LogLevel level) => level >= LogLevel.Warning && (verbose || _started);
    }
}
