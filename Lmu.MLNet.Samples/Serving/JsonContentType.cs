using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// The request bodies serve reads are JSON: a body declared as something else (a form, text, XML) is answered 415
/// naming the type, where it was parsed as JSON anyway (found by QA), and so is a JSON body declared in another charset
/// than UTF-8. A body without a Content-Type is read as JSON, so a bare client still works.
/// </summary>
internal static class JsonContentType
{
    /// <summary>
    /// How request bodies are parsed: a name given twice in one object is refused (a JsonException, answered 400), where
    /// the last one was read silently (found by QA: <c>{"Features": [...], "Features": [...]}</c> scored the second).
    /// </summary>
    public static JsonDocumentOptions Parsing { get; } = new() { AllowDuplicateProperties = false };

    /// <summary>Null when <paramref name="request"/> has no Content-Type or a JSON one (application/json, application/*+json); otherwise why it is refused.</summary>
    public static string? Refusal(HttpRequest request)
    {
        var declared = request.ContentType;
        if (string.IsNullOrWhiteSpace(declared))
        {
            return null;
        }

        var media = MediaTypeHeaderValue.TryParse(declared, out var parsed) ? parsed.MediaType ?? string.Empty : string.Empty;
        var json = media.Equals("application/json", StringComparison.OrdinalIgnoreCase)
                   || (media.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && media.EndsWith("+json", StringComparison.OrdinalIgnoreCase));
        if (!json)
        {
            return $"The body is declared as '{declared}'; send JSON with 'Content-Type: application/json'.";
        }

        // The body is read as UTF-8 whatever the header says: a declared charset=utf-16 body was parsed as UTF-8 (found
        // by QA). JSON on the wire is UTF-8 (RFC 8259), so another charset is refused, naming it.
        var charset = parsed?.CharSet?.Trim('"');
        return string.IsNullOrEmpty(charset) || charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) || charset.Equals("utf8", StringComparison.OrdinalIgnoreCase)
            ? null
            : $"The body is declared in charset '{charset}'; serve reads JSON as UTF-8 (RFC 8259): send it as UTF-8 with 'Content-Type: application/json'.";
    }
}
