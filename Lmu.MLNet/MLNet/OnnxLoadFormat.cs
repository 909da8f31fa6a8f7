using Microsoft.ML;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Transforms.Onnx;

namespace Lmu.MLNet;

/// <summary>
/// Makes ONNX Runtime parse every model a context loads as ONNX, whatever the temp file's name.
/// </summary>
/// <remarks>
/// Why: when ML.NET loads a zip (or fits a carrier) it writes the ONNX bytes to
/// <c>Path.Combine(TempFilePath, Path.GetRandomFileName())</c>, an 8.3 name with a random three-letter extension.
/// ONNX Runtime decides the format from the extension: a name ending ".ort" (one in 32,768) is read as an ORT-format
/// model and the load fails with "model verification failed". Our tests load thousands of models per run and hit
/// it about once in six runs; a service hits it once in 32,768 loads. The session config entry
/// <c>session.load_model_format = ONNX</c> tells ONNX Runtime not to guess.
/// <para>
/// ML.NET reads session options from the context (<c>SetOnnxSessionOption</c>); when they carry a
/// <see cref="OnnxSessionOptions.CreateSessionOptions"/> factory it uses that factory's options and nothing else, for
/// every ONNX model the context loads, ours or the caller's: its <c>GpuDeviceId</c>/<c>FallbackToCpu</c> and the
/// thread counts passed to <c>ApplyOnnxModel</c> no longer apply. So we fill the slot only when the caller left it
/// empty and asked for no GPU, and never replace a caller's choice; a context set up otherwise keeps ONNX Runtime's
/// guess (and the one-in-32,768 hazard, which the caller can remove with their own factory).
/// </para>
/// <para>
/// The factory returns one process-wide <see cref="SessionOptions"/>: ML.NET never disposes the options it gets, so a
/// new instance per load would be released only by its finalizer. ONNX Runtime reads session options while building a
/// session and keeps nothing of them, so sharing one instance, read-only, between concurrent loads is safe.
/// </para>
/// </remarks>
internal static class OnnxLoadFormat
{
    /// <summary>ONNX Runtime's session config key that fixes the model format instead of guessing it from the file name.</summary>
    public const string LoadModelFormatKey = "session.load_model_format";

    private static readonly Lazy<SessionOptions> SharedOptions = new(Create, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Session options with the model format fixed to ONNX and ONNX Runtime's defaults otherwise.</summary>
    public static SessionOptions Options => SharedOptions.Value;

    /// <summary>
    /// Fills the context's ONNX session options with <see cref="Options"/> when the caller has set none and asked for no
    /// GPU; returns whether the context now builds its sessions from a factory (ours, or the caller's).
    /// </summary>
    public static bool Ensure(MLContext ml)
    {
        ArgumentNullException.ThrowIfNull(ml);
        // MLContext keeps its options in a plain dictionary: two first fits on one context must not write it at once.
        lock (Gate)
        {
            var current = ml.GetOnnxSessionOption();
            if (current is null && ml.GpuDeviceId is null)
            {
                ml.SetOnnxSessionOption(new OnnxSessionOptions { CreateSessionOptions = () => SharedOptions.Value });
                return true;
            }

            return current?.CreateSessionOptions is not null;
        }
    }

    private static readonly object Gate = new();

    private static SessionOptions Create()
    {
        var options = new SessionOptions();
        options.AddSessionConfigEntry(LoadModelFormatKey, "ONNX");
        return options;
    }
}
