using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Lmu.MLNet.Samples.Bench;

/// <summary>
/// The PyTorch peer as a long-running child process (<c>Bench/peer_driver.py</c>, which imports
/// ../shared/bench/peer_pytorch_lmu.py unchanged), driven one command per sample so its samples interleave with ours.
/// Each answer's time is measured inside the peer process, so the pipe costs nothing to either side.
/// </summary>
internal sealed class PeerDriver : IBenchSide
{
    private readonly Process _process;

    private PeerDriver(Process process) => _process = process;

    /// <inheritdoc />
    public string Name => "peer";

    /// <summary>The peer's torch version.</summary>
    public string TorchVersion { get; private set; } = "?";

    /// <summary>The peer process's peak resident memory over the whole run (KiB).</summary>
    public long ProcessPeakKb { get; private set; }

    /// <summary>Starts the driver, or returns null with a reason when python3 with torch or the peer script is missing.</summary>
    public static PeerDriver? Start(string? scriptPath, int threads, out string reason)
    {
        var script = scriptPath ?? SharedFolder.Find(Path.Combine("bench", "peer_pytorch_lmu.py"));
        if (script is null || !File.Exists(script))
        {
            reason = "peer script not found (looked for ../shared/bench/peer_pytorch_lmu.py above the working directory)";
            return null;
        }
        var driverScript = Path.Combine(AppContext.BaseDirectory, "Bench", "peer_driver.py");
        // The Debian python3-torch package lives in the system interpreter, which may not be the first python3 on PATH.
        var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        try
        {
            var psi = new ProcessStartInfo(python)
            {
                ArgumentList = { driverScript, script, "--threads", threads.ToString(CultureInfo.InvariantCulture) },
                RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            // torch.set_num_threads bounds torch's own pool, not the BLAS that Debian's torch calls for matmul: OpenBLAS's
            // pthreads would use every core, so '--threads 1' gave the peer two cores' GEMMs (187 against ours 92
            // GFLOP/s, measured). The same count for both pools unless the caller set them.
            foreach (var name in new[] { "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS" })
            {
                if (Environment.GetEnvironmentVariable(name) is null) psi.Environment[name] = threads.ToString(CultureInfo.InvariantCulture);
            }

            var p = Process.Start(psi)!;
            // Drained continuously so a chatty peer can never block on a full stderr pipe.
            p.ErrorDataReceived += (_, e) => { if (e.Data is { Length: > 0 }) Console.Error.WriteLine($"peer: {e.Data}"); };
            p.BeginErrorReadLine();
            var driver = new PeerDriver(p);
            using (var info = driver.Ask("info")) driver.TorchVersion = info.RootElement.GetProperty("torch").GetString() ?? "?";
            reason = "";
            return driver;
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            reason = $"peer not runnable ({ex.Message}); install with: apt-get install -y python3-torch libopenblas0-pthread";
            return null;
        }
    }

    /// <inheritdoc />
    public double MatmulGflops(int n, int reps) => Number("matmul " + n + " " + reps, "gflops");

    /// <inheritdoc />
    public double CopyGBs(int mib, int reps) => Number("copy " + mib + " " + reps, "gbs");

    /// <inheritdoc />
    public void Setup(string config, int steps, int batch, int seed)
    {
        using var _ = Ask(FormattableString.Invariant($"setup {config} {steps} {batch} {seed}"));
    }

    /// <inheritdoc />
    public double Train(int calls = 1) => Number(calls == 1 ? "train" : FormattableString.Invariant($"train {calls}"), "s");

    /// <inheritdoc />
    public double Infer(int calls = 1) => Number(calls == 1 ? "infer" : FormattableString.Invariant($"infer {calls}"), "s");

    /// <inheritdoc />
    public (double Seconds, long PeakKb) TrainWithMemory() => WithMemory("train_mem");

    /// <inheritdoc />
    public (double Seconds, long PeakKb) InferWithMemory() => WithMemory("infer_mem");

    private (double, long) WithMemory(string command)
    {
        using var doc = Ask(command);
        return (doc.RootElement.GetProperty("s").GetDouble(), doc.RootElement.GetProperty("peak_kb").GetInt64());
    }

    private double Number(string command, string field)
    {
        using var doc = Ask(command);
        return doc.RootElement.GetProperty(field).GetDouble();
    }

    private JsonDocument Ask(string command)
    {
        _process.StandardInput.WriteLine(command);
        _process.StandardInput.Flush();
        var line = _process.StandardOutput.ReadLine()
            ?? throw new InvalidOperationException($"The peer process ended while answering '{command}' (exit code {(_process.HasExited ? _process.ExitCode : -1)}).");
        var doc = JsonDocument.Parse(line);
        if (doc.RootElement.TryGetProperty("error", out var error))
        {
            // Read before the document goes: it was read after, and the peer's message became an ObjectDisposedException (QA).
            var text = error.ToString();
            doc.Dispose();
            throw new InvalidOperationException($"The peer failed on '{command}': {text}");
        }
        if (doc.RootElement.TryGetProperty("process_peak_kb", out var peak)) ProcessPeakKb = Math.Max(ProcessPeakKb, peak.GetInt64());
        return doc;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.WriteLine("quit");
                _process.StandardInput.Flush();
                if (!_process.WaitForExit(10_000)) _process.Kill();
            }
        }
        catch (IOException)
        {
            // The pipe is gone: the process has ended already.
        }
        _process.Dispose();
    }
}
