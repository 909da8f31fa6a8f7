using System.Net;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// Checks <c>serve --urls</c> before the model loads. Kestrel listens on every interface for a host that is not an IP
/// address or localhost, so a typo such as 999.1.1.1 opened the service to the whole network (found by QA).
/// </summary>
internal static class ServeUrls
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the address when a host would bind every interface unasked.</summary>
    public static void Check(string urls)
    {
        var all = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (all.Length == 0)
        {
            // Kestrel then listened on its own default, localhost:5000, silently (found by QA).
            throw new ArgumentException($"--urls '{urls}' names no address; give one such as http://127.0.0.1:5000.");
        }

        foreach (var url in all)
        {
            // Without a scheme it is not an address Kestrel takes at all; its own error names it. Kestrel's wildcards ('*',
            // '+') are not valid URI hosts: they say "every interface" on purpose.
            if (!url.Contains("://", StringComparison.Ordinal))
            {
                continue;
            }

            var rest = url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..];
            // A Unix socket or a named pipe (http://unix:/path, http://pipe:/name) listens on no interface at all.
            if (rest.StartsWith("unix:", StringComparison.OrdinalIgnoreCase) || rest.StartsWith("pipe:", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            // An IPv6 literal needs its closing bracket: "[::1:0" read as an empty host, which Kestrel bound everywhere.
            var host = rest.StartsWith('[') ? (rest.Contains(']') ? rest[..(rest.IndexOf(']') + 1)] : rest) : rest.Split(':', '/')[0];
            // A port outside 0-65535 failed after the model loaded, naming no option (found by QA).
            var after = rest[host.Length..];
            if (after.StartsWith(':') && int.TryParse(after[1..].Split('/')[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) && port > 65535)
            {
                throw new ArgumentException($"--urls '{url}': port {port} is above 65535.");
            }

            if (host is "*" or "+" || string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
                || (host.StartsWith('[') && host.EndsWith(']') && IPAddress.TryParse(host[1..^1], out _))
                || (!host.StartsWith('[') && host.Length > 0 && IPAddress.TryParse(host, out _)))
            {
                continue;
            }

            throw new ArgumentException(
                $"--urls '{url}': '{host}' is not an IP address or localhost, and Kestrel would listen on every interface for it. " +
                "Give an IP address (127.0.0.1 for this machine only), localhost, or 0.0.0.0 or * to listen on every interface on purpose.");
        }
    }
}
