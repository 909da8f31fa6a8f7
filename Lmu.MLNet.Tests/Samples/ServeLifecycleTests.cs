using System.Diagnostics;
using System.Globalization;
using System.Net;
using Lmu.MLNet.Tests.Infrastructure;
using Lmu.MLNet.Tests.MLNet.Classification;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>
/// <c>serve</c>'s own temp folder and its stop (serve QA): the model's graph copies live in a run folder that a stop
/// (SIGTERM, SIGHUP) removes and the next start removes after a SIGKILL; a stop says how long requests in flight may take.
/// </summary>
[TestClass]
public sealed class ServeLifecycleTests : ClassifierTestBase
{
    [TestMethod]
    [Timeout(240_000, CooperativeCancellation = true)]
    public async Task TheRunFolderGoesWithEveryKindOfStop_AndAStopSaysHowLongItMayTake()
    {
        if (!File.Exists("/bin/kill") && !File.Exists("/usr/bin/kill"))
        {
            Assert.Inconclusive("sends signals with kill(1)");
        }

        var model = ServedClassifierZip.Create(Temp, MlTemp, rowCount: 1);
        var app = SamplesApp.CopyWithoutTorch(SamplesApp.Output(), Path.Combine(Temp, "app"));
        var tmp = Directory.CreateDirectory(Path.Combine(Temp, "tmpdir")).FullName;
        string[] RunFolders() => [.. Directory.GetDirectories(tmp, "lmu-run-*").Select(Path.GetFileName).Order()!];

        // Killed (no handler runs): its folder stays, and the next start removes it.
        var (killed, _) = await StartAsync(app, tmp, model.Zip);
        var killedFolders = RunFolders();
        Assert.HasCount(1, killedFolders, "one run folder while serving");
        StringAssert.StartsWith(killedFolders[0], $"lmu-run-{killed.Id}-");
        Assert.IsNotEmpty(Directory.GetFileSystemEntries(Path.Combine(tmp, killedFolders[0]), "*", SearchOption.AllDirectories), "the model's graph copies are in it");
        killed.Kill();
        await killed.WaitForExitAsync();
        Assert.HasCount(1, RunFolders(), "a SIGKILL leaves it");

        foreach (var signal in new[] { "-TERM", "-HUP" })
        {
            var (server, output) = await StartAsync(app, tmp, model.Zip, "--shutdown-seconds", "5");
            using (server)
            {
                CollectionAssert.AreEqual(new[] { $"lmu-run-{server.Id}-" }, RunFolders().Select(f => f[..f.LastIndexOf('-')] + "-").ToArray(), "the killed run's folder was removed by this start");
                using (var kill = Process.Start("kill", [signal, server.Id.ToString(CultureInfo.InvariantCulture)]))
                {
                    await kill.WaitForExitAsync();
                }

                var rest = await server.StandardOutput.ReadToEndAsync();
                await server.WaitForExitAsync();
                Assert.AreEqual(0, server.ExitCode, $"{signal}: a stop, not a kill: {output}{rest}");
                StringAssert.Contains(rest, "stopping: requests in flight may take up to 5 s to finish (--shutdown-seconds)", signal);
                CollectionAssert.AreEqual(Array.Empty<string>(), RunFolders(), $"{signal} removes the run folder");
            }
        }
    }

    private static async Task<(Process Server, string Output)> StartAsync(string app, string tmp, string zip, params string[] options)
    {
        var start = SamplesApp.StartInfo(app, Path.GetDirectoryName(tmp)!, ["serve", "--model", zip, "--urls", "http://127.0.0.1:0", .. options]);
        start.Environment["TMPDIR"] = tmp + Path.DirectorySeparatorChar;
        var server = Process.Start(start)!;
        _ = server.StandardError.ReadToEndAsync();
        var output = new System.Text.StringBuilder();
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        while (await server.StandardOutput.ReadLineAsync(wait.Token) is { } line)
        {
            output.AppendLine(line);
            if (line.StartsWith("model ", StringComparison.Ordinal))
            {
                // The model line follows the "listening on" lines: the service is up.
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
                var url = output.ToString().Split('\n').First(l => l.StartsWith("listening on ", StringComparison.Ordinal))["listening on ".Length..].Trim();
                Assert.AreEqual(HttpStatusCode.OK, (await http.GetAsync(url + "/health")).StatusCode);
                return (server, output.ToString());
            }
        }

        Assert.Fail($"serve exited before serving: {output}");
        return default;
    }
}
