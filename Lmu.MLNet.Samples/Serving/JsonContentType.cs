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

    /// <summary>
    /// Parses a request body as JSON with <see cref="Parsing"/>, refusing bytes that are not UTF-8 (JSON text is UTF-8) as
    /// a <see cref="JsonException"/> naming the offset, so the caller answers 400. The parser checks the structure only:
    /// invalid UTF-8 inside a name or a string reached the model's reader as "Cannot transcode invalid UTF-8 JSON text",
    /// answered 500 (found by QA). The body is bounded by the server's body limit, so it is read whole.
    /// </summary>
    public static async Task<JsonDocument> ParseAsync(Stream body, long? contentLength, CancellationToken cancellationToken)
    {
        // Sized from the announced length, up to 1 MiB (an announced length is not yet checked against the limit, which
        // Kestrel applies as the body is read), so a small body's buffer is not regrown.
        using var buffer = new MemoryStream((int)Math.Clamp(contentLength ?? 0, 0, 1 << 20));
        await body.CopyToAsync(buffer, cancellationToken);
        var bytes = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
        if (FirstInvalidUtf8(bytes.Span) is var at and >= 0)
        {
            throw new JsonException(string.Create(
                System.Globalization.CultureInfo.InvariantCulture,
                $"the byte at offset {at} (0x{bytes.Span[at]:X2}) is not UTF-8 text; JSON bodies are UTF-8."));
        }

        // The parser reads the buffer in place (no second copy); a UTF-8 byte-order mark is skipped, as the stream
        // parser skipped it.
        var mark = bytes.Span.StartsWith("\uFEFF"u8) ? 3 : 0;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes[mark..], Parsing);
        }
        catch (InvalidOperationException e)
        {
            // The duplicate-name check reads each name, and a name of a lone surrogate failed it there.
            throw new JsonException($"a field name has a \\u escape that is not UTF-16 text ({e.Message})", e);
        }

        try
        {
            RefuseUnreadableStrings(document.RootElement);
            return document;
        }
        catch
        {
            document.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Throws <see cref="JsonException"/> for a name or string whose \u escapes do not make UTF-16 text (a lone or
    /// reversed surrogate): the parser accepts them, and reading them later threw InvalidOperationException, answered
    /// 500 and logged once per request without the refusals' cap (hostile-clients QA: 5,800 lines a second).
    /// </summary>
    private static void RefuseUnreadableStrings(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    Readable(() => property.Name, "a field name");
                    RefuseUnreadableStrings(property.Value);
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    RefuseUnreadableStrings(item);
                }

                break;
            case JsonValueKind.String:
                Readable(() => element.GetString(), "a string");
                break;
        }
    }

    private static void Readable(Func<string?> read, string what)
    {
        try
        {
            read();
        }
        catch (InvalidOperationException e)
        {
            throw new JsonException($"{what} has a \\u escape that is not UTF-16 text ({e.Message})", e);
        }
    }

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes))
        {
            return -1;
        }

        var at = 0;
        while (System.Text.Rune.DecodeFromUtf8(bytes[at..], out _, out var used) == System.Buffers.OperationStatus.Done)
        {
            at += used;
        }

        return at;
    }

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
            return $"The body is declared as '{ClientText.Quote(declared)}'; send JSON with 'Content-Type: application/json'.";
        }

        // The body is read as UTF-8 whatever the header says: a declared charset=utf-16 body was parsed as UTF-8 (found
        // by QA). JSON on the wire is UTF-8 (RFC 8259), so another charset is refused, naming it.
        var charset = parsed?.CharSet?.Trim('"');
        return string.IsNullOrEmpty(charset) || charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) || charset.Equals("utf8", StringComparison.OrdinalIgnoreCase)
            ? null
            : $"The body is declared in charset '{charset}'; serve reads JSON as UTF-8 (RFC 8259): send it as UTF-8 with 'Content-Type: application/json'.";
    }
}
