using System.Runtime.InteropServices;

namespace Lmu.MLNet.Samples.Cli;

/// <summary>
/// The MLContext's temp folder of one run of a command that loads or writes a model (classify, forecast, predict,
/// forecast-stream, serve): a folder of its own under the system's temp folder, removed with everything in it when the
/// run ends, is interrupted (Ctrl-C, SIGTERM, SIGHUP), or, after a SIGKILL, by the next such run once the killed process
/// no longer runs. A service's sessions hold their graphs in memory once loaded, so removing the folder while it stops
/// changes nothing it answers (serve QA). The carried ONNX graphs that ML.NET's OnnxTransformer and ONNX Runtime
/// keep as files were left in $TMPDIR by every interrupted run, as large as the model (large-data QA: 72 MB each for a
/// 17M-parameter model).
/// </summary>
internal sealed class RunTempFolder : IDisposable
{
    private const string Prefix = "lmu-run-";
    private readonly PosixSignalRegistration[] _signals;

    public RunTempFolder()
    {
        RemoveAbandoned(Path.GetTempPath());
        Folder = Path.Combine(Path.GetTempPath(), $"{Prefix}{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Folder);
        // Registered after StagedOutput's: its handler prints the "interrupted" line; this one only tidies.
        // SIGHUP too: a closed terminal or ssh session ended the process with its copies left (serve QA).
        _signals = [.. new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP }.Select(s => PosixSignalRegistration.Create(s, _ => Remove()))];
    }

    /// <summary>The folder (set it as <c>MLContext.TempFilePath</c>).</summary>
    public string Folder { get; }

    public void Dispose()
    {
        foreach (var signal in _signals)
        {
            signal.Dispose();
        }

        Remove();
    }

    /// <summary>Removes run folders under <paramref name="parent"/> whose process no longer runs (a SIGKILL runs no cleanup).</summary>
    internal static void RemoveAbandoned(string parent)
    {
        IEnumerable<string> folders;
        try
        {
            folders = Directory.EnumerateDirectories(parent, $"{Prefix}*").ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }

        foreach (var folder in folders)
        {
            var name = Path.GetFileName(folder);
            var dash = name.IndexOf('-', Prefix.Length);
            if (dash > Prefix.Length && int.TryParse(name[Prefix.Length..dash], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var pid)
                && pid != Environment.ProcessId && !ProcessLiveness.Running(pid))
            {
                try
                {
                    Directory.Delete(folder, recursive: true);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Tidying only: another run may be removing it at the same moment; the others are still swept.
                }
            }
        }
    }

    private void Remove()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Already gone, or a file still being written on the way out: nothing more can be done.
        }
    }
}
