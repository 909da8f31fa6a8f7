using TorchSharp;

namespace Lmu.MLNet.Tests.Infrastructure;

/// <summary>Process-wide settings for the test run.</summary>
[TestClass]
public static class TestAssemblySetup
{
    /// <summary>
    /// One torch thread: test tensors are small, and with two OpenMP threads a second busy process on a two-core
    /// machine makes every op wait on a descheduled thread (measured here: 15x slower per op).
    /// </summary>
    [AssemblyInitialize]
    public static void Initialise(TestContext context)
    {
        _ = context;
        torch.set_num_threads(1);
        RedirectTempFiles();
        // No ONNX Runtime device id or usage events from test runs (the tool's own opt-out, before any session exists).
        Lmu.MLNet.Samples.Cli.OnnxRuntimeTelemetry.OptOutUnlessSet();
    }

    /// <summary>Removes the run's temp folder (see <see cref="RedirectTempFiles"/>).</summary>
    [AssemblyCleanup]
    public static void Cleanup()
    {
        if (s_tempFolder is null) return;
        try
        {
            Directory.Delete(s_tempFolder, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A file a straggling child process still holds: the folder is the run's own, named by its process id.
        }
    }

    private static string? s_tempFolder;

    /// <summary>
    /// Points TMPDIR (and so Path.GetTempPath and every MLContext's TempFilePath, here and in the CLI processes the
    /// tests start) at a folder of this run's own. Why: each model ML.NET's OnnxTransformer loads copies its ONNX graph
    /// to a randomly named temp file, deleted only when the model is disposed, and a test run left about 60 of them in
    /// /tmp (QA counted 994 there after a day's runs).
    /// </summary>
    private static void RedirectTempFiles()
    {
        s_tempFolder = Path.Combine(Path.GetTempPath(), $"lmu-tests-{Environment.ProcessId}");
        Directory.CreateDirectory(s_tempFolder);
        Environment.SetEnvironmentVariable("TMPDIR", s_tempFolder + Path.DirectorySeparatorChar);
    }
}
