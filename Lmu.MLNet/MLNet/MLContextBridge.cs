using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using Lmu.MLNet.Training;
using Microsoft.ML.Runtime;
using TorchSharp;

namespace Lmu.MLNet;

/// <summary>
/// What an LMU estimator needs from the user's <see cref="MLContext"/>: its seed stream, its Log, its GPU settings, its
/// temp folder and its cancellation flag.
/// </summary>
/// <remarks>
/// Catalog extension methods receive a catalog, whose environment is exposed only through the internal
/// <c>IInternalCatalog.Environment</c> (see Lmu.MLNet/Design/persistence.md). We read that one property by reflection
/// and then use public interfaces only (<see cref="IHostEnvironment.Register"/> for a seeded <see cref="Random"/>,
/// <see cref="IChannel"/> for the Log); the GPU settings, temp path and cancellation flag are read by property name.
/// Every reflective read has a documented fallback, so a future ML.NET that renames them degrades (unseeded, no
/// log) instead of failing; the public constructor taking an <see cref="MLContext"/> needs no reflection for the
/// environment itself.
/// </remarks>
internal sealed class MLContextBridge
{
    private const BindingFlags AnyInstance = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;
    private readonly object _environment;

    private MLContextBridge(IHostEnvironment environment, string name)
    {
        _environment = environment;
        Host = environment.Register(name);
    }

    /// <summary>The estimator's host: <see cref="IHost.Rand"/> is seeded from the context's seed.</summary>
    public IHost Host { get; }

    /// <summary>
    /// The next seed from the host's stream. Under a lock: concurrent Fits of one estimator share its host, and
    /// <see cref="IHost.Rand"/> is a <see cref="Random"/>, whose state two threads at once can corrupt.
    /// </summary>
    public int NextSeed()
    {
        lock (_seedGate)
        {
            return Host.Rand.Next();
        }
    }

    private readonly Lock _seedGate = new();

    /// <summary>From the user's context (no reflection needed: MLContext is an <see cref="IHostEnvironment"/>).</summary>
    public static MLContextBridge FromContext(MLContext context, string name)
    {
        ArgumentNullException.ThrowIfNull(context);
        // MLContext forwards IHostEnvironment to its LocalEnvironment; the flags live on that object.
        var inner = typeof(MLContext).GetField("_env", AnyInstance)?.GetValue(context) as IHostEnvironment;
        return new MLContextBridge(inner ?? context, name);
    }

    /// <summary>
    /// From a catalog (TransformsCatalog, MulticlassClassificationTrainers, ForecastingCatalog, ...); when the catalog's
    /// context cannot be reached, the error names <paramref name="estimatorType"/>'s public constructor, which takes the
    /// MLContext itself.
    /// </summary>
    public static MLContextBridge FromCatalog(object catalog, string name, string estimatorType)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var environment = CatalogEnvironment(catalog)
            ?? throw new InvalidOperationException(
                $"Could not reach the MLContext behind {catalog.GetType().Name} (this ML.NET version hides it differently). " +
                $"Create the estimator with new {estimatorType}(mlContext, options) instead.");
        return new MLContextBridge(environment, name);
    }

    /// <summary>
    /// The TempFilePath of the context behind <paramref name="catalog"/>, or null when it cannot be reached. Read without
    /// registering a host: each registration takes a value from the context's seed stream, so reading a setting shifted
    /// the seeds of every component made after it (found in review).
    /// </summary>
    public static string? TempFolderOf(object catalog) =>
        CatalogEnvironment(catalog) is { } environment ? ReadOf<string?>(environment, "TempFilePath", null) ?? Path.GetTempPath() : null;

    /// <summary>
    /// Whether the context behind <paramref name="catalog"/> was cancelled (MLContext.CancelExecution), as a function to
    /// poll (no host registered, see <see cref="TempFolderOf"/>); null when the context cannot be reached.
    /// </summary>
    public static Func<bool>? CancellationOf(object catalog) =>
        CatalogEnvironment(catalog) is { } environment ? () => ReadOf(environment, "IsCanceled", false) : null;

    /// <summary>
    /// Opens a channel to the Log of the context behind <paramref name="catalog"/> under <paramref name="source"/>, a
    /// channel of the context itself (no host registered, see <see cref="TempFolderOf"/>); null when the context cannot
    /// be reached. One channel per Fit: ML.NET writes three Trace lines for each channel it opens and closes.
    /// </summary>
    public static Func<IChannel>? LogOf(object catalog, string source) =>
        CatalogEnvironment(catalog) is { } environment ? () => environment.Start(source) : null;

    /// <summary>Whether <paramref name="context"/> was cancelled, as a function to poll (no host registered).</summary>
    public static Func<bool> CancellationOf(MLContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var environment = (object?)(typeof(MLContext).GetField("_env", AnyInstance)?.GetValue(context) as IHostEnvironment) ?? context;
        return () => ReadOf(environment, "IsCanceled", false);
    }

    /// <summary>The context's GpuDeviceId (null when unset or unreadable).</summary>
    public int? GpuDeviceId => Read<int?>("GpuDeviceId", null);

    /// <summary>The context's FallbackToCpu (false when unreadable).</summary>
    public bool FallbackToCpu => Read("FallbackToCpu", false);

    /// <summary>The context's TempFilePath (the system temp folder when unreadable).</summary>
    public string TempFilePath => Read<string?>("TempFilePath", null) ?? Path.GetTempPath();

    /// <summary>True once ML.NET's own cancellation (MLContext.CancelExecution, used by AutoML) was requested.</summary>
    public bool IsCanceled => Read("IsCanceled", false);

    /// <summary>
    /// Throws <see cref="OperationCanceledException"/> when <paramref name="token"/> or the context
    /// (<see cref="IsCanceled"/>) asks to stop; the context's message names <paramref name="component"/>, as the
    /// featurizers' and Ridge's do, so that a pipeline's log says which stage stopped.
    /// </summary>
    public void ThrowIfCanceled(CancellationToken token, string component)
    {
        token.ThrowIfCancellationRequested();
        if (IsCanceled)
        {
            throw new OperationCanceledException($"{component}: Fit was cancelled through its MLContext (MLContext.CancelExecution).");
        }
    }

    /// <summary>
    /// The torch device to train on: <paramref name="device"/> when set (named in messages as
    /// <paramref name="optionPath"/>), else "cuda:N" for the context's GpuDeviceId, else "cpu". A CUDA request that
    /// TorchSharp cannot serve falls back to the CPU with a logged warning when the context's FallbackToCpu is true, and
    /// fails with an <see cref="InvalidOperationException"/> naming the setting otherwise (before any data is read).
    /// </summary>
    /// <remarks>
    /// This is the estimators' first use of TorchSharp, so it also loads the native backend first: a
    /// libLibTorchSharp.so that the host's libstdc++ cannot load (GLIBCXX_3.4.32, the build-time fix off) fails here with
    /// an error naming the cause (<see cref="TorchNative.EnsureLoaded"/>).
    /// </remarks>
    public string ResolveDevice(string? device, string optionPath)
    {
        TorchNative.EnsureLoaded();
        var requested = device ?? (GpuDeviceId is int id ? $"cuda:{id}" : "cpu");
        if (!requested.Trim().StartsWith("cuda", StringComparison.OrdinalIgnoreCase) || torch.cuda.is_available())
        {
            return requested.Trim().ToLowerInvariant();
        }

        var why = device is null ? $"MLContext.GpuDeviceId = {GpuDeviceId}" : $"{optionPath} = \"{device}\"";
        if (FallbackToCpu)
        {
            Warning("Device", $"{why} asks for CUDA, which TorchSharp cannot use here; training on the CPU (MLContext.FallbackToCpu is true).");
            return "cpu";
        }

        throw new InvalidOperationException(
            $"{why} asks for CUDA, but TorchSharp finds no usable CUDA device (reference a CUDA libtorch package and check the driver). " +
            "Set MLContext.FallbackToCpu = true to train on the CPU instead.");
    }

    /// <summary>Synchronous progress: each epoch goes to the context's Log (channel "Training"), then to <paramref name="user"/>.</summary>
    public IProgress<LmuEpochReport> EpochLog(IProgress<LmuEpochReport>? user) => new EpochProgress(this, user);

    /// <summary>Writes an Info message to the context's Log under this estimator's name.</summary>
    public void Info(string channel, string message)
    {
        using var ch = Host.Start(channel);
        ch.Info(MessageSensitivity.None, message);
    }

    /// <summary>Writes a Warning message to the context's Log.</summary>
    public void Warning(string channel, string message)
    {
        using var ch = Host.Start(channel);
        ch.Warning(MessageSensitivity.None, message);
    }

    private T Read<T>(string property, T fallback) => ReadOf(_environment, property, fallback);

    private static T ReadOf<T>(object environment, string property, T fallback)
    {
        var p = environment.GetType().GetProperty(property, AnyInstance);
        return p?.GetValue(environment) is T value ? value : fallback;
    }

    private static IHostEnvironment? CatalogEnvironment(object catalog)
    {
        for (var type = catalog.GetType(); type is not null; type = type.BaseType)
        {
            foreach (var p in type.GetProperties(AnyInstance))
            {
                if (p.Name.EndsWith("IInternalCatalog.Environment", StringComparison.Ordinal) && p.GetValue(catalog) is IHostEnvironment env)
                {
                    return env;
                }
            }
        }

        return null;
    }

    private sealed class EpochProgress(MLContextBridge context, IProgress<LmuEpochReport>? user) : IProgress<LmuEpochReport>
    {
        public void Report(LmuEpochReport value)
        {
            context.Info("Training", value.ToString());
            user?.Report(value);
        }
    }
}
