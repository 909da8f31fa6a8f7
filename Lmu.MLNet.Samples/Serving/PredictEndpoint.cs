using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// POST /predict: one JSON object in, one out. What the caller must fix gets 400 (413 for a body over the limit, 415 for
/// a body declared as another type than JSON), a busy or closing service 503, each with a JSON message and a log line;
/// internal failures propagate to the host's handler (500 with a JSON body).
/// </summary>
internal static class PredictEndpoint
{
    public static async Task<IResult> HandleAsync(HttpContext context, ModelService service, ILogger log)
    {
        var request = context.Request;
        // Refused before reading when the length is announced; Kestrel's MaxRequestBodySize (the same limit) catches
        // a chunked body while it is read.
        if (request.ContentLength > service.MaxBodyBytes)
        {
            return TooLarge(context, service.MaxBodyBytes, log);
        }

        if (JsonContentType.Refusal(request) is { } notJson)
        {
            return Refuse(log, StatusCodes.Status415UnsupportedMediaType, notJson);
        }

        JsonDocument document;
        try
        {
            document = await JsonContentType.ParseAsync(request.Body, request.ContentLength, context.RequestAborted);
        }
        catch (JsonException e)
        {
            // A name given twice is legal JSON that this service refuses: not "invalid JSON" (review).
            var what = e.Message.StartsWith("Duplicate property", StringComparison.Ordinal) ? "The body gives a field twice" : "The body is not valid JSON";
            return Refuse(log, StatusCodes.Status400BadRequest, $"{what}: {e.Message}");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge(context, service.MaxBodyBytes, log);
        }

        using (document)
        {
            try
            {
                return Results.Json(await service.PredictAsync(document.RootElement, context.RequestAborted));
            }
            catch (ServingRequestException e)
            {
                return Refuse(log, StatusCodes.Status400BadRequest, e.Message);
            }
            catch (ServingUnavailableException e)
            {
                return Refuse(log, StatusCodes.Status503ServiceUnavailable, e.Message);
            }
        }
    }

    private static IResult TooLarge(HttpContext context, long limit, ILogger log)
    {
        // The rest of the body is never read, so Kestrel closes the connection after answering; saying so keeps a
        // client from sending its next request down a connection that is about to close.
        context.Response.Headers.Connection = "close";
        return Refuse(log, StatusCodes.Status413PayloadTooLarge, TooLargeMessage(limit));
    }

    /// <summary>The answer to a body over <paramref name="limit"/> bytes, on every route.</summary>
    public static string TooLargeMessage(long limit) =>
        string.Create(CultureInfo.InvariantCulture, $"The request body is over the limit of {limit} bytes (set by --max-body-bytes; the default is sized to the model's inputs).");

    private static IResult Refuse(ILogger log, int status, string message)
    {
        log.LogWarning("POST /predict answered {Status}: {Reason}", status, message);
        return Results.Json(new { error = message }, statusCode: status);
    }
}
