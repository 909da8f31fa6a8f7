using System.Text.Json;
using Lmu.MLNet.Orleans;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// serve --series: POST /series/{id}/observe (one reading {"sequence": n, "value": v, "covariates": [...]}, or an
/// array of them) and GET /series/{id}/forecast, each answered by the series' grain on the in-process silo.
/// </summary>
internal static class SeriesEndpoints
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static void Map(WebApplication app, ILogger log)
    {
        app.MapPost("/series/{id}/observe", async (string id, HttpRequest request, IGrainFactory grains) =>
        {
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

            try
            {
                var result = await grains.GetGrain<ISeriesForecastGrain>(id).ObserveBatchAsync(readings);
                // A gap is the sender's to fix (resend from lastSequence + 1): 409 with where the series stands.
                return Results.Json(Answer(result), statusCode: result.Outcome == ObservationOutcome.Gap ? StatusCodes.Status409Conflict : StatusCodes.Status200OK);
            }
            catch (ArgumentException e)
            {
                return Refuse(log, id, StatusCodes.Status400BadRequest, e.Message);
            }
        });
        app.MapGet("/series/{id}/forecast", async (string id, IGrainFactory grains) =>
        {
            var result = await grains.GetGrain<ISeriesForecastGrain>(id).GetForecastAsync();
            // A series never observed has nothing to forecast from: 404, where it was answered 200 "Applied" (found by QA).
            return result.ObservationCount == 0
                ? Results.Json(new { error = $"Series '{id}' has no observations: POST /series/{{id}}/observe first." }, statusCode: StatusCodes.Status404NotFound)
                : Results.Json(Answer(result));
        });
    }

    private static SeriesObservation Reading(JsonElement e)
    {
        // Each field named when it is not what it must be (2.5 or 1e30 as a sequence read "One of the identified items was
        // in an invalid format"; found by QA).
        // A missing field was a KeyNotFoundException from GetProperty, answered 500 (found by QA).
        if (e.ValueKind != JsonValueKind.Object || !JsonFields.TryGet(e, "sequence", out var s) || !JsonFields.TryGet(e, "value", out var v))
        {
            throw new FormatException($"a reading is an object with \"sequence\" and \"value\" (and \"covariates\" when the model has them); got {Shorten(e.GetRawText())}.");
        }

        if (s.ValueKind != JsonValueKind.Number || !s.TryGetInt64(out var sequence))
        {
            throw new FormatException($"\"sequence\" must be a whole number (1, 2, ...) but is {s.GetRawText()}.");
        }

        if (v.ValueKind != JsonValueKind.Number || !v.TryGetSingle(out var value) || !float.IsFinite(value))
        {
            throw new FormatException(v.ValueKind == JsonValueKind.Number
                ? $"\"value\" {v.GetRawText()} is beyond the 32-bit float range the model reads."
                : $"\"value\" must be a number but is {v.GetRawText()}.");
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
            throw new FormatException($"\"covariates\" must be an array of numbers but is {Shorten(c.GetRawText())}.");
        }

        var values = new float[c.GetArrayLength()];
        var i = 0;
        foreach (var x in c.EnumerateArray())
        {
            if (x.ValueKind != JsonValueKind.Number || !x.TryGetSingle(out values[i]) || !float.IsFinite(values[i]))
            {
                throw new FormatException(x.ValueKind == JsonValueKind.Number
                    ? $"\"covariates\"[{i}] {x.GetRawText()} is beyond the 32-bit float range the model reads."
                    : $"\"covariates\"[{i}] must be a number but is {Shorten(x.GetRawText())}.");
            }

            i++;
        }

        return values;
    }

    private static string Shorten(string json) => json.Length <= 80 ? json : json[..80] + "...";

    private static object Answer(SeriesForecastResult r) => new
    {
        outcome = r.Outcome.ToString(), r.LastSequence, r.ObservationCount, r.ModelVersion, r.ModelFingerprint, forecast = r.Forecast, lower = r.Lower, upper = r.Upper,
    };

    private static IResult Refuse(ILogger log, string id, int status, string message)
    {
        log.LogWarning("POST /series/{Id}/observe answered {Status}: {Reason}", id, status, message);
        return Results.Json(new { error = message }, statusCode: status);
    }
}
