using System.Text.Json;
using Lmu.MLNet.Orleans;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// serve --series: POST /series/{id}/observe (one reading {"sequence": n, "value": v, "covariates": [...]}, or an
/// array of them), GET /series/{id}/forecast and DELETE /series/{id}, each answered by the series' grain on the
/// in-process silo. A <see cref="SeriesDirectory"/> bounds the series held; failures inside the service count toward
/// /health as /predict's do (QA: /health answered ok while every observe failed).
/// </summary>
internal sealed class SeriesEndpoints
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly SeriesLimits _limits;
    private readonly ScoringHealth _health = new("series calls");

    public SeriesEndpoints(SeriesLimits limits) => _limits = limits;

    /// <summary>Null when series calls work; otherwise why not (for /health).</summary>
    public string? HealthProblem => _health.Problem;

    public void Map(WebApplication app, ILogger log)
    {
        var grains = app.Services.GetRequiredService<IGrainFactory>();
        var directory = new SeriesDirectory(
            _limits, TimeProvider.System, ProcessMemoryUse.Now,
            (id, at) => TransientRetry.CallAsync(() => grains.GetGrain<ISeriesForecastGrain>(id).ForgetAsync(at), IsRefusal, $"series '{id}'"),
            async id => (await TransientRetry.CallAsync(() => grains.GetGrain<ISeriesForecastGrain>(id).GetForecastAsync(), IsRefusal, $"series '{id}'")).LastSequence,
            ProcessMemoryUse.Collect, log);
        app.Lifetime.ApplicationStarted.Register(() => _ = SweepAsync(directory, _limits.Idle, app.Lifetime.ApplicationStopping));
        app.MapPost("/series/{id}/observe", async (string id, HttpRequest request) =>
        {
            if (BlankId(id) is { } blank)
            {
                return Refuse(log, id, StatusCodes.Status400BadRequest, blank);
            }

            if (JsonContentType.Refusal(request) is { } notJson)
            {
                return Refuse(log, id, StatusCodes.Status415UnsupportedMediaType, notJson);
            }

            SeriesObservation[] readings;
            try
            {
                using var document = await JsonContentType.ParseAsync(request.Body, request.ContentLength, request.HttpContext.RequestAborted);
                readings = document.RootElement.ValueKind == JsonValueKind.Array
                    ? document.RootElement.EnumerateArray().Select(Reading).ToArray()
                    : [Reading(document.RootElement)];
            }
            catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or ServingRequestException)
            {
                return Refuse(log, id, StatusCodes.Status400BadRequest, $"The body must be a reading {{\"sequence\": n, \"value\": v, \"covariates\": [...]}} or an array of them: {e.Message}");
            }

            if (readings.Length == 0)
            {
                // An empty batch was answered "Duplicate", as if readings had been resent (found by QA).
                return Refuse(log, id, StatusCodes.Status400BadRequest, "The body is an empty array: send a reading {\"sequence\": n, \"value\": v, \"covariates\": [...]} or an array of at least one.");
            }

            if (directory.Refusal(id) is { } full)
            {
                request.HttpContext.Response.Headers.RetryAfter = "60";
                return Refuse(log, id, StatusCodes.Status503ServiceUnavailable, full);
            }

            try
            {
                var result = await Answered(id, () => grains.GetGrain<ISeriesForecastGrain>(id).ObserveBatchAsync(readings));
                if (result.Outcome == ObservationOutcome.Applied || (result.Outcome == ObservationOutcome.Gap && readings.Length > 1 && result.LastSequence > 0))
                {
                    // Only calls that applied readings: a resend kept a quiet series from being forgotten (review).
                    directory.Applied(id, result.LastSequence);
                }
                else if (result.LastSequence > 0)
                {
                    // A series the store holds but the directory does not list (a call that applied readings and then
                    // failed on its way back): listed now, without refreshing the idle clock of one listed already
                    // (review: its reads were answered 404 and its resends Duplicate).
                    directory.Known(id, result.LastSequence);
                }

                // A gap is the sender's to fix (resend from lastSequence + 1): 409 with where the series stands, and for a
                // series that holds nothing, why it may hold nothing (serve QA: after a restart a sender that had 1-5
                // acknowledged got lastSequence 0 with no sign that its readings were gone).
                return result.Outcome != ObservationOutcome.Gap
                    ? Results.Json(Answer(result))
                    : result.LastSequence == 0
                        ? Results.Json(UnknownGap(id, result), statusCode: StatusCodes.Status409Conflict)
                        : Results.Json(Answer(result), statusCode: StatusCodes.Status409Conflict);
            }
            catch (ArgumentException e)
            {
                return Refuse(log, id, StatusCodes.Status400BadRequest, e.Message);
            }
        });
        app.MapGet("/series/{id}/forecast", async (string id) =>
        {
            if (BlankId(id) is { } blank)
            {
                return Results.Json(new { error = blank }, statusCode: StatusCodes.Status400BadRequest);
            }

            // A series never observed has nothing to forecast from: 404, where it was answered 200 "Applied" (found by QA).
            // One the service does not hold is answered without its grain (see SeriesDirectory.Holds).
            var result = directory.Holds(id) ? await Answered(id, () => grains.GetGrain<ISeriesForecastGrain>(id).GetForecastAsync()) : null;
            return result is null || result.ObservationCount == 0
                ? Results.Json(new { error = NothingHeld(id) }, statusCode: StatusCodes.Status404NotFound)
                : Results.Json(Answer(result));
        });
        app.MapDelete("/series/{id}", async (string id) =>
        {
            if (BlankId(id) is { } blank)
            {
                return Results.Json(new { error = blank }, statusCode: StatusCodes.Status400BadRequest);
            }

            if (!directory.Holds(id))
            {
                // Nothing stored, and no grain activated to say so (see SeriesDirectory.Holds).
                return Results.Json(new { error = $"Series '{id}' holds nothing to remove." }, statusCode: StatusCodes.Status404NotFound);
            }

            var removed = await Answered(id, () => grains.GetGrain<ISeriesForecastGrain>(id).ForgetAsync(null));
            // Either way the store holds nothing now (unless a new first reading came since): an entry left by an answer
            // recorded after an earlier removal goes too.
            await directory.RemovedAsync(id);
            return removed
                ? Results.NoContent()
                : Results.Json(new { error = $"Series '{id}' holds nothing to remove." }, statusCode: StatusCodes.Status404NotFound);
        });
    }

    // A grain call that did not fail on the caller's input counts toward /health either way; a call refused while the
    // series' grain was deactivated by a racing call is sent again (see TransientRetry), and counts only when every
    // attempt was refused.
    private async Task<T> Answered<T>(string id, Func<Task<T>> call)
    {
        try
        {
            var result = await TransientRetry.CallAsync(call, IsRefusal, $"series '{id}'", _health.Failed);
            _health.Succeeded();
            return result;
        }
        catch (Exception e) when (e is not ArgumentException and not OperationCanceledException and not ServingUnavailableException)
        {
            _health.Failed(e);
            throw;
        }
    }

    private static bool IsRefusal(Exception e) => e is OrleansMessageRejectionException;

    private static async Task SweepAsync(SeriesDirectory directory, TimeSpan idle, CancellationToken stopping)
    {
        if (idle <= TimeSpan.Zero)
        {
            return;
        }

        // Often enough that a series outlives its idle time by at most about a minute (or half the idle time).
        using var timer = new PeriodicTimer(TimeSpan.FromTicks(Math.Clamp(idle.Ticks / 2, TimeSpan.TicksPerSecond, TimeSpan.TicksPerMinute)));
        try
        {
            while (await timer.WaitForNextTickAsync(stopping))
            {
                await directory.SweepAsync(stopping);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // The service is stopping.
        }
    }

    // Orleans refused an id of spaces with its own words about a "primaryKey" (QA).
    private static string? BlankId(string id) =>
        string.IsNullOrWhiteSpace(id) ? "The series id in /series/{id} is blank: name the series with at least one character that is not a space." : null;

    private static SeriesObservation Reading(JsonElement e)
    {
        // Each field named when it is not what it must be (2.5 or 1e30 as a sequence read "One of the identified items was
        // in an invalid format"; found by QA).
        // A missing field was a KeyNotFoundException from GetProperty, answered 500 (found by QA).
        if (e.ValueKind != JsonValueKind.Object || !JsonFields.TryGet(e, "sequence", out var s) || !JsonFields.TryGet(e, "value", out var v))
        {
            throw new FormatException($"a reading is an object with \"sequence\" and \"value\" (and \"covariates\" when the model has them); got {ClientText.Quote(e.GetRawText())}.");
        }

        if (s.ValueKind != JsonValueKind.Number || !s.TryGetInt64(out var sequence))
        {
            throw new FormatException($"\"sequence\" must be a whole number (1, 2, ...) but is {ClientText.Quote(s.GetRawText())}.");
        }

        if (v.ValueKind != JsonValueKind.Number || !v.TryGetSingle(out var value) || !float.IsFinite(value))
        {
            throw new FormatException(v.ValueKind == JsonValueKind.Number
                ? $"\"value\" {ClientText.Quote(v.GetRawText())} is beyond the 32-bit float range the model reads."
                : $"\"value\" must be a number but is {ClientText.Quote(v.GetRawText())}.");
        }

        return new SeriesObservation(sequence, value, JsonFields.TryGet(e, "covariates", out var c) ? Covariates(c) : []);
    }

    /// <summary>
    /// Each covariate held to the rule of "value", named by its index: 1e39 read as Infinity and reached the model, and a
    /// text or a non-array was refused in System.Text.Json's words ("requires an element of type 'Array'"; review).
    /// </summary>
    private static float[] Covariates(JsonElement c)
    {
        if (c.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException($"\"covariates\" must be an array of numbers but is {ClientText.Quote(c.GetRawText())}.");
        }

        var values = new float[c.GetArrayLength()];
        var i = 0;
        foreach (var x in c.EnumerateArray())
        {
            if (x.ValueKind != JsonValueKind.Number || !x.TryGetSingle(out values[i]) || !float.IsFinite(values[i]))
            {
                throw new FormatException(x.ValueKind == JsonValueKind.Number
                    ? $"\"covariates\"[{i}] {ClientText.Quote(x.GetRawText())} is beyond the 32-bit float range the model reads."
                    : $"\"covariates\"[{i}] must be a number but is {ClientText.Quote(x.GetRawText())}.");
            }

            i++;
        }

        return values;
    }

    private static object Answer(SeriesForecastResult r) => new
    {
        outcome = r.Outcome.ToString(), r.LastSequence, r.ObservationCount, r.ModelVersion, r.ModelFingerprint, forecast = r.Forecast, lower = r.Lower, upper = r.Upper,
    };

    private static object UnknownGap(string id, SeriesForecastResult r) => new
    {
        outcome = r.Outcome.ToString(), r.LastSequence, r.ObservationCount, r.ModelVersion, r.ModelFingerprint, forecast = r.Forecast, lower = r.Lower, upper = r.Upper,
        error = NothingHeld(id),
    };

    // Why a series holds nothing, said by the forecast's 404 as by the observe's 409 (Orleans QA: the 404 said only
    // "POST ... first" to a sender whose series had been forgotten).
    private static string NothingHeld(string id) =>
        $"Series '{id}' holds nothing: it was never observed, was forgotten (DELETE or --series-idle), or the service restarted since " +
        "(series live in this process's memory); POST /series/{id}/observe its readings from number 1.";

    private static IResult Refuse(ILogger log, string id, int status, string message)
    {
        log.LogWarning("POST /series/{Id}/observe answered {Status}: {Reason}", id, status, message);
        return Results.Json(new { error = message }, statusCode: status);
    }
}
