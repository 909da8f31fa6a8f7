using System.Runtime.InteropServices;

namespace Lmu.MLNet.Samples.Cli;

/// <summary>
/// Opts the process out of ONNX Runtime's usage telemetry unless the user has chosen. ONNX Runtime 1.32's Linux build
/// carries a telemetry client (1DS) with a collector address; at the first session it writes a device id and an event
/// store under <c>~/.cache/Microsoft/DeveloperTools/.onnxruntime</c> and a <c>.ses</c> file in <c>$TMPDIR</c> (measured
/// 2026-12-07). <c>ORT_DISABLE_TELEMETRY=1</c> stops all three, but only when it is in the native environment before
/// ONNX Runtime initialises: <see cref="Environment.SetEnvironmentVariable(string, string)"/> does not reach
/// <c>getenv</c> on Unix, and <c>OrtEnv.DisableTelemetryEvents</c> comes after the environment that writes the device
/// id (both measured: the files were still written). Hence libc's <c>setenv</c>, called first thing in the process.
/// </summary>
internal static class OnnxRuntimeTelemetry
{
    /// <summary>The variable ONNX Runtime reads; any value but "", "0" or "false" disables it (measured).</summary>
    public const string Variable = "ORT_DISABLE_TELEMETRY";

    /// <summary>
    /// Sets <see cref="Variable"/> to 1 unless it is already set (a user's <c>ORT_DISABLE_TELEMETRY=0</c> is kept).
    /// Call before anything loads ONNX Runtime, while the process has one thread of its own: <c>setenv</c> is not safe
    /// against concurrent <c>getenv</c>.
    /// </summary>
    public static void OptOutUnlessSet()
    {
        if (Environment.GetEnvironmentVariable(Variable) is not null) return;
        if (OperatingSystem.IsWindows())
        {
            // Windows' process environment is what SetEnvironmentVariable writes (its telemetry is ETW, not 1DS).
            Environment.SetEnvironmentVariable(Variable, "1");
            return;
        }

        _ = SetEnv(Variable, "1", 0);
        // The managed copy too, so that child processes and this process's own checks see what native code sees.
        Environment.SetEnvironmentVariable(Variable, "1");
    }

    [DllImport("libc", EntryPoint = "setenv", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int SetEnv(string name, string value, int overwrite);
}
