using System.Globalization;
using System.Runtime.InteropServices;
using System.Diagnostics;
using Lmu.MLNet.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Training;

/// <summary>Mini-batch training of an <see cref="LmuNetwork"/> with Adam/AdamW, clipping, a schedule and early stopping.</summary>
public static class LmuTrainer
{
    /// <summary>
    /// Trains <paramref name="network"/> in place. Throws <see cref="OperationCanceledException"/> within one batch of
    /// cancellation (the network's weights are then partially trained: callers that must not leave a half-built model
    /// discard it), <see cref="ArgumentException"/> for invalid options, and <see cref="InvalidOperationException"/>
    /// when the training source yields no batch, the device is unavailable, the loss diverges or a backward pass fails
    /// (its cause, an allocation that failed for example, as the inner exception). After a divergence the weights are
    /// those of the last step taken, which was not stepped on a non-finite loss; they are finite, but that step may
    /// already have made the outputs non-finite (a theta driven to 0): discard the network as after a cancellation.
    /// </summary>
    public static LmuTrainingResult Train(
        LmuNetwork network, ILmuBatchSource train, ILmuBatchSource? validation, LmuLoss loss, LmuTrainingOptions options,
        IProgress<LmuEpochReport>? progress = null, CancellationToken cancellationToken = default) =>
        Train(network, train, validation, loss, options, progress, cancellationToken, seedsTorch: true);

    /// <summary>
    /// <see cref="Train(LmuNetwork, ILmuBatchSource, ILmuBatchSource?, LmuLoss, LmuTrainingOptions, IProgress{LmuEpochReport}?, CancellationToken)"/>;
    /// <paramref name="seedsTorch"/> false leaves torch's default generator alone (the estimators: their networks are
    /// built from a generator of their own and nothing they train draws from torch's, so a Fit does not reseed the host's).
    /// </summary>
    internal static LmuTrainingResult Train(
        LmuNetwork network, ILmuBatchSource train, ILmuBatchSource? validation, LmuLoss loss, LmuTrainingOptions options,
        IProgress<LmuEpochReport>? progress, CancellationToken cancellationToken, bool seedsTorch)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (!Enum.IsDefined(loss)) throw new ArgumentException($"Unknown loss {loss}.", nameof(loss));
        var device = ResolveDevice(options.Device ?? "cpu");
        if (seedsTorch && options.Seed is int seed) TrainingRandom.Seed(seed);
        // Gradient mode is per thread and the caller's to set: a Fit called inside torch.no_grad() (or on a pool thread
        // where earlier work turned it off) failed in libtorch's words at the first backward pass (found by QA).
        using var gradients = torch.enable_grad();
        using var dropoutSeeds = TrainingRandom.UseDropoutSeeds(options.Seed);
        network.to(device);

        var parameters = network.parameters().Where(p => p.requires_grad).ToList();
        // Learned dynamics (theta, A, B) are clipped apart from the weights: d loss / d log theta sums over every step
        // and memory coefficient and can be far larger than the weights' gradient, so one global norm would shrink
        // every weight's step by that factor (psMNIST with a learned theta trained visibly slower that way).
        var (dynamicsParameters, weightParameters) = ClipGroups(network);
        // Our own Adam/AdamW: TorchSharp's create Scalars implicitly inside step (see AdamOptimizer).
        using var optimizer = new AdamOptimizer(parameters, options.LearningRate, weightDecay: options.WeightDecay);

        // The recurrent scans read their state budget from this flow of execution, not from a process-wide setting.
        using var budget = LinearScanLastFunction.UseKeepAllBytes((long)options.ScanStateBudgetMiB << 20);
        var history = new List<LmuEpochReport>();
        var clock = Stopwatch.StartNew();
        long stepsPerEpoch = -1, step = 0;
        double bestValidation = double.PositiveInfinity;
        int bestEpoch = 0, sinceBest = 0;
        Dictionary<string, Tensor>? bestWeights = null;
        try
        {
            for (int epoch = 0; epoch < options.Epochs; epoch++)
            {
                network.train();
                double lossSum = 0;
                long rows = 0, correct = 0, batches = 0;
                foreach (var batch in train.Batches(epoch))
                {
                    using var b = batch;
                    cancellationToken.ThrowIfCancellationRequested();
                    using var scope = NewDisposeScope();
                    if (options.Schedule == LearningRateSchedule.Cosine && stepsPerEpoch > 0)
                    {
                        double progressFraction = Math.Min(1.0, step / (double)(stepsPerEpoch * options.Epochs));
                        double lr = options.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * progressFraction));
                        optimizer.LearningRate = lr;
                    }
                    var (x, y, len) = ToDevice(b, device);
                    optimizer.ZeroGrad();
                    var output = network.forward(x, len);
                    var l = Loss(output, y, loss);
                    // Read before the step: a non-finite loss stepped on left every weight NaN (found by QA), so a
                    // diverged run now leaves the weights of the last step taken.
                    double value = Value(l);
                    if (!double.IsFinite(value))
                        throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"Training diverged: the loss became {value} at epoch {epoch + 1}, batch {batches + 1}. Lower the learning rate or check the data for extreme values."));
                    Backward(l, epoch, batches, anyThread: device.type != DeviceType.CPU);
                    if (options.GradientClipNorm > 0) ClipGradients(dynamicsParameters, weightParameters, options.GradientClipNorm);
                    optimizer.Step();
                    lossSum += value * b.Count;
                    rows += b.Count;
                    if (loss == LmuLoss.CrossEntropy) correct += output.argmax(1).eq(y).sum().item<long>();
                    batches++;
                    step++;
                }
                if (rows == 0) throw new InvalidOperationException("The training data yielded no rows (with a ValidationFraction, none may be left for training: lower it or give more rows).");
                if (stepsPerEpoch < 0)
                {
                    stepsPerEpoch = batches;
                    step = batches;
                }

                double? validLoss = null, validAcc = null;
                if (validation is not null)
                {
                    (validLoss, validAcc) = Evaluate(network, validation, loss, device, cancellationToken);
                    if (validLoss < bestValidation)
                    {
                        bestValidation = validLoss.Value;
                        bestEpoch = epoch + 1;
                        sinceBest = 0;
                        if (options.EarlyStoppingPatience > 0) bestWeights = Snapshot(network, bestWeights);
                    }
                    else
                    {
                        sinceBest++;
                    }
                }
                var elapsed = clock.Elapsed;
                var report = new LmuEpochReport(epoch + 1, options.Epochs, lossSum / rows,
                    loss == LmuLoss.CrossEntropy ? correct / (double)rows : null, validLoss, validAcc,
                    elapsed, elapsed / (epoch + 1) * (options.Epochs - epoch - 1), optimizer.LearningRate);
                history.Add(report);
                progress?.Report(report);
                if (options.EarlyStoppingPatience > 0 && validation is not null && sinceBest >= options.EarlyStoppingPatience) break;
            }

            int finalEpoch = history.Count;
            if (bestWeights is not null && bestEpoch != finalEpoch)
            {
                Restore(network, bestWeights);
                finalEpoch = bestEpoch;
            }
            network.eval();
            return new LmuTrainingResult(history, finalEpoch);
        }
        finally
        {
            // A failed or cancelled run leaves the network in eval mode too, as a finished one does.
            network.eval();
            if (bestWeights is not null)
                foreach (var t in bestWeights.Values) t.Dispose();
        }
    }

    /// <summary>Mean loss and (for cross-entropy) accuracy over a source, in eval mode without gradients.</summary>
    public static (double Loss, double? Accuracy) Evaluate(LmuNetwork network, ILmuBatchSource source, LmuLoss loss, Device device, CancellationToken cancellationToken = default)
    {
        bool wasTraining = network.training;
        network.eval();
        double lossSum = 0;
        long rows = 0, correct = 0;
        try
        {
            using var noGrad = torch.no_grad();
            foreach (var batch in source.Batches(0))
            {
                using var b = batch;
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var (x, y, len) = ToDevice(b, device);
                var output = network.forward(x, len);
                lossSum += Value(Loss(output, y, loss)) * b.Count;
                rows += b.Count;
                if (loss == LmuLoss.CrossEntropy) correct += output.argmax(1).eq(y).sum().item<long>();
            }
        }
        finally
        {
            // A cancelled or failed evaluation hands the network back in the mode it came in (found by QA).
            if (wasTraining) network.train();
        }
        if (rows == 0) throw new InvalidOperationException("The validation data yielded no rows.");
        return (lossSum / rows, loss == LmuLoss.CrossEntropy ? correct / (double)rows : null);
    }

    /// <summary>"cpu", "cuda" or "cuda:N" as a torch device; a clear error when CUDA is asked for and absent.</summary>
    public static Device ResolveDevice(string name)
    {
        var text = name.Trim().ToLowerInvariant();
        if (text == "cpu") return torch.CPU;
        if (text.StartsWith("cuda", StringComparison.Ordinal))
        {
            if (!torch.cuda.is_available())
                throw new InvalidOperationException($"Device '{name}' was requested but CUDA is not available to TorchSharp here (reference a CUDA libtorch package and check the driver), and no CPU fallback was allowed.");
            return torch.device(text);
        }
        throw new ArgumentException($"LmuTrainingOptions.Device = \"{name}\" is not a known device (cpu, cuda, cuda:N).", nameof(name));
    }

    /// <summary>The trainable parameters of the layers' learned dynamics (theta, A, B), and every other trainable parameter.</summary>
    internal static (List<TorchSharp.Modules.Parameter> Dynamics, List<TorchSharp.Modules.Parameter> Weights) ClipGroups(LmuNetwork network)
    {
        var dynamics = new List<TorchSharp.Modules.Parameter>();
        var weights = new List<TorchSharp.Modules.Parameter>();
        foreach (var (name, p) in network.named_parameters())
        {
            if (!p.requires_grad) continue;
            (name.Contains(".dynamics.", StringComparison.Ordinal) ? dynamics : weights).Add(p);
        }
        return (dynamics, weights);
    }

    /// <summary>Clips each group's gradient norm to <paramref name="maxNorm"/> on its own (see <see cref="ClipGroups"/>).</summary>
    internal static void ClipGradients(List<TorchSharp.Modules.Parameter> dynamics, List<TorchSharp.Modules.Parameter> weights, double maxNorm)
    {
        if (weights.Count > 0) nn.utils.clip_grad_norm_(weights, maxNorm);
        if (dynamics.Count > 0) nn.utils.clip_grad_norm_(dynamics, maxNorm);
    }

    /// <summary>
    /// loss.backward(), with the cause of a failure inside one of the LMU's own backward passes (an allocation that
    /// failed, say) rather than libtorch's report of the empty gradient that ended it (see GuardedFunction).
    /// </summary>
    private static void Backward(Tensor loss, int epoch, long batch, bool anyThread)
    {
        // A failure kept earlier on this thread (another caller's backward pass) is not this step's. Only this thread's
        // slot is cleared and re-read here: another thread's failure belongs to another trainer.
        BackwardFailures.Take();
        Exception? cause;
        try
        {
            loss.backward();
            // libtorch rejects the failure path's gradients, but should a backward pass ever return normally after a
            // kept failure, its gradients are not to be stepped on.
            cause = BackwardFailures.Take();
        }
        catch (ExternalException) when (BackwardFailures.Take(anyThread) is { } kept)
        {
            cause = kept;
        }
        if (cause is not null)
            throw new InvalidOperationException($"Training failed in the backward pass at epoch {epoch + 1}, batch {batch + 1}: {cause.Message}", cause);
    }

    private static (Tensor X, Tensor Y, Tensor? Lengths) ToDevice(LmuBatch b, Device device)
        => device.type == DeviceType.CPU
            ? (b.Features, b.Target, b.Lengths)
            : (b.Features.to(device), b.Target.to(device), b.Lengths?.to(device));

    private static Tensor Loss(Tensor output, Tensor target, LmuLoss loss)
    {
        CheckTarget(output, target, loss);
        return loss switch
        {
            LmuLoss.CrossEntropy => nn.functional.cross_entropy(output, target),
            LmuLoss.MeanSquaredError => nn.functional.mse_loss(output, target),
            _ => nn.functional.l1_loss(output, target),
        };
    }

    /// <summary>
    /// Refuses a target the loss would misread: a regression target of another shape than the output broadcast against
    /// it ([16] against [16, 1] became [16, 16], and the network learned nothing, with only a libtorch warning; found by
    /// QA), and cross-entropy needs class indices (int64) of one per row.
    /// </summary>
    private static void CheckTarget(Tensor output, Tensor target, LmuLoss loss)
    {
        if (loss == LmuLoss.CrossEntropy)
        {
            if (target.dtype != ScalarType.Int64 || target.dim() != 1 || target.shape[0] != output.shape[0])
                throw new ArgumentException($"A cross-entropy target must be int64 class indices [batch = {output.shape[0]}]; got {target.dtype} [{string.Join(", ", target.shape)}].", "target");
            // An index outside [0, classes) failed inside libtorch's loss ("Target 7 is out of bounds"), naming neither the
            // option nor the count; found by QA. Two reductions over [batch] int64 per step.
            long classes = output.shape[1];
            using var low = target.min();
            using var high = target.max();
            long min = low.item<long>(), max = high.item<long>();
            if (min < 0 || max >= classes)
                throw new ArgumentException($"A cross-entropy target holds class indices in [0, OutputSize = {classes}); got values from {min} to {max}.", "target");
        }
        else if (!target.shape.SequenceEqual(output.shape) || target.dtype != output.dtype)
        {
            throw new ArgumentException($"A {loss} target must have the output's shape and dtype, {output.dtype} [{string.Join(", ", output.shape)}] ([batch, OutputSize]); got {target.dtype} [{string.Join(", ", target.shape)}].", "target");
        }
    }

    // The loss as a number whatever the network's float dtype (item<float> refused a float64 network's; found by QA).
    private static double Value(Tensor loss) => loss.dtype == ScalarType.Float64 ? loss.item<double>() : loss.item<float>();

    private static Dictionary<string, Tensor> Snapshot(LmuNetwork network, Dictionary<string, Tensor>? previous)
    {
        if (previous is not null)
            foreach (var t in previous.Values) t.Dispose();
        var copy = new Dictionary<string, Tensor>();
        // The scope owns detach()'s temporaries; the clones leave it.
        using var scope = NewDisposeScope();
        foreach (var (name, t) in network.state_dict())
            copy[name] = t.detach().clone().DetachFromDisposeScope();
        return copy;
    }

    private static void Restore(LmuNetwork network, Dictionary<string, Tensor> weights)
    {
        using var _ = torch.no_grad();
        foreach (var (name, t) in network.state_dict())
            t.copy_(weights[name]);
    }
}
