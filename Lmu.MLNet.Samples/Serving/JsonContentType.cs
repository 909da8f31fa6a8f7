using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// The request bodies serve reads are JSON: a body declared as something else (a form, text, XML) is answered 415
/// naming the type, where it was parsed as JSON anyway (found by QA). A body without a Content-Type is read as JSON,
/// so a bare client still works.
/// </summary>
internal static class JsonContentType
{
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
        return json ? null : $"The body is declared as '{declared}'; send JSON with 'Content-Type: application/json'.";
    }
}
