using System.Text.Json;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>How serve reads a request's fields: by name without regard to case, a field given twice refused.</summary>
internal static class JsonFields
{
    /// <summary>
    /// The field <paramref name="name"/> of <paramref name="obj"/>, matched case-insensitively; two spellings of it in
    /// one request (<c>Features</c> and <c>features</c>) are refused naming both, where the exact one was read and the
    /// other ignored. /series/{id}/observe read its fields case-sensitively, where /predict did not (fleet QA).
    /// </summary>
    /// <exception cref="ServingRequestException">The field is given twice.</exception>
    public static bool TryGet(JsonElement obj, string name, out JsonElement value)
    {
        value = default;
        string? found = null;
        foreach (var p in obj.EnumerateObject())
        {
            if (!string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (found is not null)
            {
                throw new ServingRequestException($"Field '{name}' is given twice, as '{found}' and '{p.Name}' (field names match without regard to case); send it once.");
            }

            found = p.Name;
            value = p.Value;
        }

        return found is not null;
    }
}
