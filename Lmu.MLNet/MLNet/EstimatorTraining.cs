using System.Runtime.InteropServices;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Training;
using TorchSharp;

namespace Lmu.MLNet;

/// <summary>
/// The part of Fit every LMU estimator shares once its data is checked and its batch sources are made: the seed and
/// device resolved from the options and the MLContext, torch's thread count set on the run's thread and restored after
/// it, the network built from a generator of the seed (so weights are reproducible too, and torch's default generator,
/// the host's, is neither read nor reseeded), the training options
/// completed with that seed and device, each epoch reported to the MLContext's Log and the caller's progress, and the
/// trained network handed back on the CPU in eval mode, disposed once the caller has read it.
/// </summary>
internal sealed class EstimatorTraining
{
    private readonly MLContextBridge _context;
    private readonly LmuTrainingOptions _options;

    private EstimatorTraining(MLContextBridge context, LmuTrainingOptions options, int seed, string device)
    {
        _context = context;
        _options = options;
        Seed = seed;
        Device = device;
    }

    /// <summary>The run's seed: <c>Training.Seed</c>, else the next value of the MLContext's seeded stream.</summary>
    public int Seed { get; }

    /// <summary>The run's device: <c>Training.Device</c>, else the MLContext's GpuDeviceId/FallbackToCpu choice.</summary>
    public string Device { get; }

    /// <summary>Theta above this many times the sequence length draws a warning (see <see cref="WarnOfALongTheta"/>).</summary>
    internal const double LongThetaRatio = 1000;

    /// <summary>
    /// Logs a warning for each layer whose theta is more than <see cref="LongThetaRatio"/> times the <paramref name="steps"/>
    /// a row has. Why: such a memory moves by about steps/theta of its input's scale over a whole row, so the network
    /// sees almost nothing (found by QA: theta 1e30 trained at chance without a word). Not refused: a long window is a
    /// legitimate choice when rows are streamed in pieces.
    /// </summary>
    public static void WarnOfALongTheta(MLContextBridge context, LmuNetworkOptions network, int steps, string option)
    {
        var layers = network.ResolveLayers();
        for (var i = 0; i < layers.Count; i++)
        {
            var theta = layers[i].Theta;
            if (theta > LongThetaRatio * steps)
            {
                var which = layers.Count == 1 ? option : $"{option} (layer {i})";
                context.Warning(
                    "Network",
                    $"{which}: Theta {theta:G4} is {theta / steps:G3} times the {steps} steps of a row, so the memory moves by about {steps / theta:G2} of its " +
                    "input's scale over a whole row and the network may learn nothing from it. A theta near the sequence length is the usual choice (the default).");
            }
        }
    }

    /// <summary>
    /// Logs a warning when <paramref name="torchThreads"/> is more than the processors this process may use
    /// (<see cref="Environment.ProcessorCount"/>, which counts a CPU quota and affinity). Why: torch's threads then wait for
    /// each other's time slices (limits QA: at 10 % of a core, 8 threads trained in 24.8 s where 1 took 17.9 s). Not
    /// refused: the quota may be lifted while the process runs.
    /// </summary>
    public static void WarnOfTooManyThreads(MLContextBridge context, int torchThreads, string option)
    {
        var processors = Environment.ProcessorCount;
        if (torchThreads > processors)
        {
            context.Warning(
                "Training",
                $"{option} = {torchThreads} is more than the {processors} processor(s) this process may use (a CPU quota or affinity counts): " +
                $"torch's threads then wait for each other's turns and training slows. Use at most {processors}.");
        }
    }

    /// <summary>Resolves the device (failing clearly before any data is read) and the seed.</summary>
    /// <param name="context">The estimator's MLContext.</param>
    /// <param name="training">The estimator's training options (copied; the copy gets the seed and device).</param>
    /// <param name="devicePath">The device setting's path in the estimator's options, for errors.</param>
    public static EstimatorTraining Start(MLContextBridge context, LmuTrainingOptions training, string devicePath)
    {
        // The fitted model is carried as an ONNX graph written into the temp folder; a folder that cannot be written
        // failed the Fit after all its epochs, in the file system's words (QA: "Read-only file system : '…/lmu-….onnx'").
        OnnxCarrier.ProbeTempFolder(context.TempFilePath);
        var device = context.ResolveDevice(training.Device, devicePath);
        var seed = training.Seed ?? context.NextSeed();
        var options = training.Clone();
        options.Seed = seed;
        options.Device = device;
        return new EstimatorTraining(context, options, seed, device);
    }

    /// <summary>
    /// The network, or an <see cref="InsufficientMemoryException"/> naming its sizes when its weights cannot be
    /// allocated. Why: nothing bounds HiddenUnits or HeadHiddenSizes, and int.MaxValue failed in libtorch's words (an
    /// ExternalException "can't allocate memory: you tried to allocate 68719476704 bytes" and a C++ stack trace; API QA).
    /// </summary>
    internal static LmuNetwork Build(LmuNetworkOptions network, int seed)
    {
        try
        {
            return TrainingRandom.NewNetwork(network, seed);
        }
        // libtorch reports every failure as an ExternalException: only an allocation's is about the sizes (review).
        catch (Exception e) when (e is OutOfMemoryException
                                  || (e is ExternalException && (e.Message.Contains("alloc", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase))))
        {
            var layers = string.Join("; ", network.ResolveLayers().Select((l, i) => $"layer {i}: Order {l.Order}, MemoryD {l.MemoryD}, HiddenUnits {(l.HiddenCell == HiddenCell.None ? 0 : l.HiddenUnits)}"));
            var cause = e.Message.Split('\n', 2)[0].Trim();
            throw new InsufficientMemoryException(
                $"The network's weights could not be allocated ({cause}); {layers}; head [{string.Join(", ", network.HeadHiddenSizes)}] to {network.OutputSize} outputs. " +
                "Reduce HiddenUnits, HeadHiddenSizes, MemoryD or Order.", e);
        }
    }

    /// <summary>Builds the network, trains it and returns what <paramref name="trained"/> reads from it.</summary>
    /// <param name="network">The network to build.</param>
    /// <param name="train">Training batches.</param>
    /// <param name="validation">Validation batches, or null.</param>
    /// <param name="loss">The loss.</param>
    /// <param name="torchThreads">Torch intra-op threads for the run; 0 leaves torch's setting.</param>
    /// <param name="progress">The caller's progress (beside the MLContext's Log), or null.</param>
    /// <param name="token">The caller's cancellation.</param>
    /// <param name="trained">Reads the trained network (CPU, eval mode) before it is disposed.</param>
    public T Run<T>(
        LmuNetworkOptions network, ILmuBatchSource train, ILmuBatchSource? validation, LmuLoss loss, int torchThreads,
        IProgress<LmuEpochReport>? progress, CancellationToken token, Func<LmuNetwork, LmuTrainingResult, T> trained)
    {
        using var threads = TorchThreadCount.Use(torchThreads);
        using var model = Build(network, Seed);
        var result = LmuTrainer.Train(model, train, validation, loss, _options, _context.EpochLog(progress), token, seedsTorch: false);
        model.to(torch.CPU);
        model.eval();
        return trained(model, result);
    }
}
