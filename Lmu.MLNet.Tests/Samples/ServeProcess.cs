using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Lmu.MLNet.Tests.Infrastructure;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>
/// The Samples app's <c>serve</c> command on a free loopback port, started from a copy of the app WITHOUT libtorch;
/// disposing kills it and waits for it to exit.
/// </summary>
internal sealed class ServeProcess : IAsyncDisposable
{
    private readonly Process _server;
    private readonly StringBuilder _log = new();
    private readonly Channel<string> _later = Channel.CreateUnbounded<string>();

    private ServeProcess(Process server)
    {
        _server = server;
        _server.ErrorDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
        _server.BeginErrorReadLine();
    }

    /// <summary>A client for the running service (30 s per request).</summary>
    public HttpClient Http { get; private set; } = null!;

    /// <summary>What the server printed on stdout up to its "listening on" line.</summary>
    public string Output { get; private set; } = string.Empty;

    /// <summary>The service process.</summary>
    public Process Process => _server;

    /// <summary>What the server has written to stderr so far (its log).</summary>
    public string ErrorLog
    {
        get
        {
            lock (_log) return _log.ToString();
        }
    }

    /// <summary>
    /// Copies the app without torch into <paramref name="temp"/>/app and serves <paramref name="zip"/> until bound,
    /// with <paramref name="options"/> added to the command line.
    /// </summary>
    public static Task<ServeProcess> StartAsync(string zip, string temp, params string[] options) =>
        StartAsync(zip, temp, new Dictionary<string, string>(), options);

    /// <summary>As <see cref="StartAsync(string, string, string[])"/>, with <paramref name="environment"/> set for the process.</summary>
    public static async Task<ServeProcess> StartAsync(string zip, string temp, IReadOnlyDictionary<string, string> environment, params string[] options)
    {
        var app = Directory.Exists(Path.Combine(temp, "app")) ? Path.Combine(temp, "app") : SamplesApp.CopyWithoutTorch(SamplesApp.Output(), Path.Combine(temp, "app"));
        var start = SamplesApp.StartInfo(app, temp, ["serve", "--model", zip, "--urls", "http://127.0.0.1:0", .. options]);
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var served = new ServeProcess(Process.Start(start)!);
        try
        {
            served.Http = new HttpClient { BaseAddress = new Uri(await served.ReadAddress()), Timeout = TimeSpan.FromSeconds(30) };
            return served;
        }
        catch
        {
            await served.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The next line the server prints on stdout after those in <see cref="Output"/> (null at its end); throws
    /// <see cref="OperationCanceledException"/> when none comes within <paramref name="timeout"/>.
    /// </summary>
    public async Task<string?> NextLineAsync(TimeSpan timeout)
    {
        using var wait = new CancellationTokenSource(timeout);
        return await _later.Reader.WaitToReadAsync(wait.Token) && _later.Reader.TryRead(out var line) ? line : null;
    }

    /// <summary>POSTs <paramref name="request"/> to /predict and returns the status and the JSON answer.</summary>
    public async Task<(HttpStatusCode Status, JsonElement Body)> PredictAsync(object request, CancellationToken cancellationToken = default)
    {
        using var response = await Http.PostAsJsonAsync("/predict", request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        using var json = JsonDocument.Parse(text);
        return (response.StatusCode, json.RootElement.Clone());
    }

    /// <summary>POSTs <paramref name="body"/> and asserts a 400 whose error message contains <paramref name="message"/>.</summary>
    public async Task AssertBadRequest(string body, string message)
    {
        using var response = await Http.PostAsync("/predict", new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.AreEqual(HttpStatusCode.BadRequest, response.StatusCode, text);
        StringAssert.Contains(JsonDocument.Parse(text).RootElement.GetProperty("error").GetString(), message);
    }

    /// <summary>POSTs raw bytes as a JSON body and checks the 400 answer's message.</summary>
    public async Task AssertBadRequest(byte[] body, string message)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await Http.PostAsync("/predict", content);
        var text = await response.Content.ReadAsStringAsync();
        Assert.AreEqual(HttpStatusCode.BadRequest, response.StatusCode, text);
        StringAssert.Contains(JsonDocument.Parse(text).RootElement.GetProperty("error").GetString(), message);
    }

    /// <summary>GET /model as JSON.</summary>
    public async Task<JsonElement> DescribeAsync()
    {
        using var description = JsonDocument.Parse(await Http.GetStringAsync("/model"));
        return description.RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        Http?.Dispose();
        if (!_server.HasExited)
        {
            _server.Kill(entireProcessTree: true);
        }

        await _server.WaitForExitAsync(CancellationToken.None);
        _server.Dispose();
    }

    /// <summary>The "listening on URL" line the server prints once bound (port 0 lets the OS pick a free port).</summary>
    private async Task<string> ReadAddress()
    {
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var output = new StringBuilder();
        while (await _server.StandardOutput.ReadLineAsync(wait.Token) is { } line)
        {
            output.AppendLine(line);
            if (line.StartsWith("listening on ", StringComparison.Ordinal))
            {
                Output = output.ToString();
                // Keep draining stdout so the server never blocks on a full pipe; the lines stay for NextLineAsync.
                _ = Task.Run(async () =>
                {
                    while (await _server.StandardOutput.ReadLineAsync(CancellationToken.None) is { } later)
                    {
                        _later.Writer.TryWrite(later);
                    }

                    _later.Writer.TryComplete();
                });
                return line["listening on ".Length..].Trim();
            }
        }

        string errors;
        lock (_log) errors = _log.ToString();
        Assert.Fail($"the server exited before listening: {errors}");
        return string.Empty;
    }
}
