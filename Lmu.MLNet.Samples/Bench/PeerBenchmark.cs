using System.Diagnostics;
using System.Text.Json;

namespace Lmu.MLNet.Samples.Bench;

/// <summary>Runs ../shared/bench/peer_pytorch_lmu.py (PyTorch, same shapes) in the same invocation, when it can.</summary>
internal static class PeerBenchmark
{
    public sealed record Result(string TorchVersion, double MatmulGflops, Dictionary<string, (double Train, double Infer)> Configs, double? PeakRssMiB);

    private const string PeakRssPrefix = "peer_peak_rss_kb=";

    // argv[1] is the script. VmHWM (KiB) belongs to the interpreter's own address space; getrusage's ru_maxrss would
    // not do: it survives exec, so it would report the .NET parent's resident size at fork time (measured: it did).
    private const string PeakRssWrapper =
        "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__'); " +
        "print('" + PeakRssPrefix + "' + [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')][0])";

    /// <summary>The peer's timings, or null with a reason when python3 with torch or the script is missing.</summary>
    public static Result? Run(string? scriptPath, int threads, int steps, IEnumerable<string> configs, out string reason)
    {
        var script = scriptPath ?? SharedFolder.Find(Path.Combine("bench", "peer_pytorch_lmu.py"));
        if (script is null || !File.Exists(script))
        {
            reason = "peer script not found (looked for ../shared/bench/peer_pytorch_lmu.py above the working directory)";
            return null;
        }
        // The Debian python3-torch package lives in the system interpreter, which may not be the first python3 on PATH.
        var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        var json = Path.Combine(Path.GetTempPath(), $"lmu-peer-{Environment.ProcessId}.json");
        try
        {
            var psi = new ProcessStartInfo(python)
            {
                // Run the script unchanged inside a wrapper that reports the interpreter's peak resident set at exit.
                ArgumentList =
                {
                    "-c", PeakRssWrapper, script, "--threads", threads.ToString(), "--steps", steps.ToString(),
                    "--configs", string.Join(',', configs), "--json", json,
                },
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            p.WaitForExit();
            if (p.ExitCode != 0 || !File.Exists(json))
            {
                reason = $"peer failed (exit {p.ExitCode}): {Tail(stderr.Result)} — install with: apt-get install -y python3-torch libopenblas0-pthread";
                return null;
            }
            var output = stdout.Result;
            double? peakMiB = null;
            foreach (var line in output.Split('\n'))
            {
                if (line.StartsWith(PeakRssPrefix, StringComparison.Ordinal) && double.TryParse(line[PeakRssPrefix.Length..], System.Globalization.CultureInfo.InvariantCulture, out var kb))
                    peakMiB = kb / 1024;
                else if (line.Length > 0)
                    Console.WriteLine(line);
            }
            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            var root = doc.RootElement;
            var map = new Dictionary<string, (double, double)>();
            foreach (var c in root.GetProperty("configs").EnumerateObject())
                map[c.Name] = (c.Value.GetProperty("train_step_s").GetDouble(), c.Value.GetProperty("infer_batch_s").GetDouble());
            reason = "";
            return new Result(root.GetProperty("torch").GetString() ?? "?", root.GetProperty("matmul1024_gflops").GetDouble(), map, peakMiB);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            reason = $"python3 not runnable: {ex.Message}";
            return null;
        }
        finally
        {
            File.Delete(json);
        }
    }

    private static string Tail(string s) => s.Length > 400 ? s[^400..] : s;
}
