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
        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // Without a scheme it is not an address Kestrel takes at all; its own error names it. Kestrel's wildcards ('*',
            // '+') are not valid URI hosts: they say "every interface" on purpose.
            if (!url.Contains("://", StringComparison.Ordinal))
            {
                continue;
            }

            var host = url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..];
            host = host.StartsWith('[') ? host[..(host.IndexOf(']') + 1)] : host.Split(':', '/')[0];
            if (host is "*" or "+" or "" || string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
                || IPAddress.TryParse(host.Trim('[', ']'), out _))
            {
                continue;
            }

            throw new ArgumentException(
                $"--urls '{url}': '{host}' is not an IP address or localhost, and Kestrel would listen on every interface for it. " +
                "Give an IP address (127.0.0.1 for this machine only), localhost, or 0.0.0.0 or * to listen on every interface on purpose.");
        }
    }
}
