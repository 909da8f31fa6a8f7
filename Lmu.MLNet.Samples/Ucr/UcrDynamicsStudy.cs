using System.Diagnostics;
using System.Globalization;
using Lmu.MLNet.Experiments;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Training;
using Microsoft.ML;
using TorchSharp;

namespace Lmu.MLNet.Samples.Ucr;

/// <summary>
/// The <c>ucr</c> command's LMU default network (order 32, theta = T, memory_d = min(C, 4), SimpleRnn(64), lr 3e-3,
/// dropout 0.1, 300 epochs, batch 16, all training rows) with its dynamics fixed or learned (A, B, theta) or as a stack
/// of two such layers, every variant trained from the same seed in the same run, one after the other per dataset, on
/// the official test split.
/// </summary>
internal static class UcrDynamicsStudy
{
    /// <param name="Folds">0: train on the training split, score the test split; K &gt; 1: stratified K-fold
    /// cross-validation inside the training split (the test split is not read), for choosing among variants.</param>
    public sealed record Settings(IReadOnlyList<string> Datasets, IReadOnlyList<string> Variants, IReadOnlyList<int> Seeds, int Threads, int Epochs, int Folds = 0);

    /// <summary>Variant names and what they change in the network options (returned: the options to train).</summary>
    public static readonly IReadOnlyDictionary<string, Func<LmuNetworkOptions, LmuNetworkOptions>> AllVariants = new Dictionary<string, Func<LmuNetworkOptions, LmuNetworkOptions>>
    {
        ["fixed"] = n => n,
        ["theta"] = n => Layer(n, l => l.TrainableTheta = true),
        ["a"] = n => Layer(n, l => l.TrainableA = true),
        ["b"] = n => Layer(n, l => l.TrainableB = true),
        ["ab"] = n => Layer(n, l => { l.TrainableA = true; l.TrainableB = true; }),
        ["abtheta"] = n => Layer(n, l => { l.TrainableA = true; l.TrainableB = true; l.TrainableTheta = true; }),
        ["stack2"] = n => Stack(n, _ => { }),
        ["stack2theta"] = n => Stack(n, l => l.TrainableTheta = true),
        ["pool"] = n => Readout(n, LmuReadout.MeanAndMax, _ => { }),
        ["poolmean"] = n => Readout(n, LmuReadout.Mean, _ => { }),
        ["pool4"] = n => Readout(n, LmuReadout.MeanAndMax, l => l.Theta /= 4),
        ["pooltheta"] = n => Readout(n, LmuReadout.MeanAndMax, l => l.TrainableTheta = true),
        ["pool4theta"] = n => Readout(n, LmuReadout.MeanAndMax, l => { l.Theta /= 4; l.TrainableTheta = true; }),
        ["densepool"] = n => Readout(n, LmuReadout.MeanAndMax, l => Local(l, 1)),
        ["dense4pool"] = n => Readout(n, LmuReadout.MeanAndMax, l => Local(l, 4)),
        ["dense8pool"] = n => Readout(n, LmuReadout.MeanAndMax, l => Local(l, 8)),
        ["local4"] = n => LocalThenGlobal(n, 4, LmuReadout.LastStep),
        ["local4pool"] = n => LocalThenGlobal(n, 4, LmuReadout.MeanAndMax),
        ["lastpool"] = n => Readout(n, LmuReadout.LastStepMeanAndMax, _ => { }),
        ["lastpool4"] = n => Readout(n, LmuReadout.LastStepMeanAndMax, l => l.Theta /= 4),
        ["local4lastpool"] = n => LocalThenGlobal(n, 4, LmuReadout.LastStepMeanAndMax),
        ["lastpoolrandom"] = n => Readout(n, LmuReadout.LastStepMeanAndMax, Reservoir),
        ["lastpoolq16"] = n => Readout(n, LmuReadout.LastStepMeanAndMax, l => l.Order = 16),
        ["lastpoolq8"] = n => Readout(n, LmuReadout.LastStepMeanAndMax, l => l.Order = 8),
        ["lastpoolh32"] = n => Readout(n, LmuReadout.LastStepMeanAndMax, l => l.HiddenUnits = 32),
        ["lastpoolx"] = n => Readout(n, LmuReadout.LastStepMeanAndMax, l => l.InputToHidden = true),
        ["lastpoolm2"] = n => Readout(n, LmuReadout.LastStepMeanAndMax, l => l.MemoryD = 2),
        ["lastpoolh128"] = n => Readout(n, LmuReadout.LastStepMeanAndMax, l => l.HiddenUnits = 128),
        ["conv2pool"] = n => ConvStack(n, 2, LmuReadout.MeanAndMax),
        ["conv3pool"] = n => ConvStack(n, 3, LmuReadout.MeanAndMax),
        ["conv3mean"] = n => ConvStack(n, 3, LmuReadout.Mean),
        ["local8lastpool"] = n => LocalThenGlobal(n, 8, LmuReadout.LastStepMeanAndMax),
        ["conv2global"] = n => ConvThenGlobal(n, 2),
        ["conv3global"] = n => ConvThenGlobal(n, 3),
    };

    /// <summary>
    /// A feed-forward (Dense, ReLU) hidden cell over a window of theta / <paramref name="divisor"/> steps: each unit is a
    /// learned smooth kernel convolved with the input, so under a pool the layer is a one-layer convolutional network
    /// whose kernels live in the Legendre basis (and trains in the parallel form).
    /// </summary>
    private static void Local(LmuLayerOptions l, int divisor)
    {
        l.Theta /= divisor;
        l.HiddenCell = HiddenCell.Dense;
        l.HiddenActivation = LmuActivation.Relu;
    }

    /// <summary>
    /// A reservoir: 512 hidden units whose encoders and kernels stay at their random initial values, so only the head
    /// trains (a linear read of [last, mean, max] of 512 fixed random recurrent features, as ridge reads random kernels).
    /// </summary>
    private static void Reservoir(LmuLayerOptions l)
    {
        l.HiddenUnits = 512;
        l.TrainableInputEncoder = false;
        l.TrainableMemoryKernel = false;
        l.TrainableHiddenKernel = false;
    }

    /// <summary>
    /// A fully convolutional network in the Legendre basis (the shape of the FCN baseline that beats DTW on CBF and
    /// MoteStrain in the UCR literature): <paramref name="depth"/> feed-forward layers, each a <see cref="Local"/> layer
    /// over theta / 8 steps with order 16 (a short window needs fewer coefficients), every channel with a memory of its
    /// own, the later ones also reading their input step directly (a 1x1 path beside the kernel), then a pool.
    /// </summary>
    private static LmuNetworkOptions ConvStack(LmuNetworkOptions n, int depth, LmuReadout readout)
    {
        var layers = new List<LmuLayerOptions>();
        for (var i = 0; i < depth; i++)
        {
            var l = n.Layer.Clone();
            Local(l, 8);
            l.Order = 16;
            if (i > 0)
            {
                l.InputSize = layers[^1].OutputSize;
                l.MemoryD = 8;
                l.InputToHidden = true;
            }
            else
            {
                l.MemoryD = l.InputSize;
            }

            layers.Add(l);
        }

        return new LmuNetworkOptions
        {
            Layers = layers, HeadHiddenSizes = n.HeadHiddenSizes.ToArray(), HeadActivation = n.HeadActivation,
            HeadDropout = n.HeadDropout, OutputSize = n.OutputSize, Readout = readout,
        };
    }

    /// <summary>
    /// <see cref="ConvStack"/> of <paramref name="depth"/> layers, then the default recurrent layer over the whole row
    /// reading its 64 channels (memory_d 4), read through <see cref="LmuReadout.LastStepMeanAndMax"/>: the local shapes
    /// that the stack finds, and the whole row that the default layer remembers.
    /// </summary>
    private static LmuNetworkOptions ConvThenGlobal(LmuNetworkOptions n, int depth)
    {
        var stack = ConvStack(n, depth, LmuReadout.LastStepMeanAndMax);
        var global = n.Layer.Clone();
        global.InputSize = stack.Layers[^1].OutputSize;
        global.MemoryD = Math.Min(global.InputSize, 4);
        stack.Layers = [.. stack.Layers, global];
        return stack;
    }

    /// <summary>Two layers: <see cref="Local"/> features over theta / <paramref name="divisor"/>, then the default recurrent layer over the whole row reading them.</summary>
    private static LmuNetworkOptions LocalThenGlobal(LmuNetworkOptions n, int divisor, LmuReadout readout)
    {
        var first = n.Layer.Clone();
        Local(first, divisor);
        var second = n.Layer.Clone();
        second.InputSize = first.OutputSize;
        second.MemoryD = Math.Min(second.InputSize, 4);
        return new LmuNetworkOptions
        {
            Layers = [first, second], HeadHiddenSizes = n.HeadHiddenSizes.ToArray(), HeadActivation = n.HeadActivation,
            HeadDropout = n.HeadDropout, OutputSize = n.OutputSize, Readout = readout,
        };
    }

    /// <summary>
    /// The network change of a variant name, before its suffixes: "+std" standardises every step (see
    /// <see cref="Prepare"/>), "+shift" trains on rows shifted in time (see <see cref="MaxShift"/>); in either order.
    /// </summary>
    private static string NetworkPart(string variant) => variant.Split('+')[0];

    private static bool Has(string variant, string suffix) => variant.Split('+').Skip(1).Contains(suffix, StringComparer.Ordinal);

    private static bool KnownSuffixes(string variant) => variant.Split('+').Skip(1).All(f => f is StandardizeSuffix or ShiftSuffix or BothSuffix or RidgeSuffix || IsEnsemble(f) || IsWeightDecay(f) || IsJitter(f) || IsWarp(f) || IsLearningRate(f));

    /// <summary>
    /// True when a variant names one suffix twice (`fixed+std+std`, `+ens2+ens3`): it ran with one of them silently (found
    /// by QA). A numbered suffix counts by its name, whatever its number.
    /// </summary>
    private static bool RepeatsASuffix(string variant) => variant.Split('+').Skip(1).GroupBy(SuffixName).Any(g => g.Count() > 1);

    private static string SuffixName(string suffix) =>
        IsEnsemble(suffix) ? EnsembleSuffix : IsWeightDecay(suffix) ? WeightDecaySuffix : IsJitter(suffix) ? JitterSuffix
        : IsWarp(suffix) ? WarpSuffix : IsLearningRate(suffix) ? LearningRateSuffix : suffix;

    private const string JitterSuffix = "jitter";

    private const string WeightDecaySuffix = "wd";

    private const string WarpSuffix = "warp";

    private const string LearningRateSuffix = "lr";

    private static bool IsLearningRate(string suffix) => PositiveNumberAfter(suffix, LearningRateSuffix) is not null;

    /// <summary>"+lrX": Adam's learning rate X instead of the configuration's (3e-3); null without the suffix.</summary>
    private static double? LearningRate(string variant)
        => SuffixNumber(variant, LearningRateSuffix) is var x && x > 0 ? x : null;

    private static bool IsWarp(string suffix) => PositiveNumberAfter(suffix, WarpSuffix) is not null;

    /// <summary>"+warpX": every training row's time axis bent by a random smooth warp of log-scale strength X, every epoch (<see cref="TimeWarpBatchSource"/>); 0 without the suffix.</summary>
    private static double Warp(string variant) => SuffixNumber(variant, WarpSuffix);

    private static bool IsJitter(string suffix) => PositiveNumberAfter(suffix, JitterSuffix) is not null;

    private static bool IsWeightDecay(string suffix) => PositiveNumberAfter(suffix, WeightDecaySuffix) is not null;

    /// <summary>"+jitterX": Gaussian noise of X times each channel's standard deviation on every training value, every epoch (<see cref="JitterBatchSource"/>); 0 without the suffix.</summary>
    private static double Jitter(string variant) => SuffixNumber(variant, JitterSuffix);

    /// <summary>"+wdX": decoupled (AdamW) weight decay X; 0 without the suffix (the default network's training).</summary>
    private static double WeightDecay(string variant) => SuffixNumber(variant, WeightDecaySuffix);

    /// <summary>X of a suffix "prefixX" with X a number above 0; null for any other suffix.</summary>
    private static double? PositiveNumberAfter(string suffix, string prefix)
        => suffix.StartsWith(prefix, StringComparison.Ordinal)
           && double.TryParse(suffix[prefix.Length..], NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && x > 0 ? x : null;

    /// <summary>X of the variant's first suffix "prefixX" (X above 0); 0 when it has none.</summary>
    private static double SuffixNumber(string variant, string prefix)
        => variant.Split('+').Skip(1).Select(f => PositiveNumberAfter(f, prefix)).FirstOrDefault(x => x is not null) ?? 0;

    private static bool IsEnsemble(string suffix)
        => suffix.StartsWith(EnsembleSuffix, StringComparison.Ordinal)
           && int.TryParse(suffix[EnsembleSuffix.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var k) && k is >= 2 and <= MaxEnsemble;

    // An ensemble of 100,000 networks ran until QA's timeout: a bound a study would never reach.
    private const int MaxEnsemble = 100;

    private const string EnsembleSuffix = "ens";

    private const string StandardizeSuffix = "std";

    private const string BothSuffix = "both";

    private const string ShiftSuffix = "shift";

    private const string RidgeSuffix = "ridge";

    /// <summary>
    /// How far "+shift" moves a training row: up to T / 8 steps either way (at least 1), so a shape keeps most of its
    /// row and a shift is small against the quarter-length window of the local layer.
    /// </summary>
    private static int MaxShift(string variant, int steps) => Has(variant, ShiftSuffix) ? Math.Max(1, steps / 8) : 0;

    /// <summary>
    /// The data a variant trains on and is scored on. "+std": every step (slot) standardised with the mean and standard
    /// deviation of the rows it trains on, as <c>NormalizeMeanVariance(fixZero: false)</c> before the classifier does;
    /// the scored rows get the same statistics. Why: on sets whose classes share one shape (Wine), the class signal is
    /// a small deviation from it, which the network sees only once the shared shape is subtracted. "+both": every
    /// step's raw values, then the same values standardised, as channels side by side, so one network sees both the
    /// shapes (wherever they occur) and the deviations from the mean series.
    /// </summary>
    private static (LmuExperimentData Train, LmuExperimentData Score) Prepare(string variant, LmuExperimentData train, int[] fitRows, LmuExperimentData score)
    {
        var std = Has(variant, StandardizeSuffix);
        var both = Has(variant, BothSuffix);
        if (!std && !both) return (train, score);
        var (mean, scale) = train.SlotStatistics(fitRows);
        var (trainStd, scoreStd) = (train.Standardized(mean, scale), score.Standardized(mean, scale));
        return both ? (train.WithChannelsOf(trainStd), score.WithChannelsOf(scoreStd)) : (trainStd, scoreStd);
    }

    private static LmuNetworkOptions Readout(LmuNetworkOptions n, LmuReadout readout, Action<LmuLayerOptions> change)
    {
        change(n.Layer);
        n.Readout = readout;
        return n;
    }

    private static LmuNetworkOptions Layer(LmuNetworkOptions n, Action<LmuLayerOptions> change)
    {
        change(n.Layer);
        return n;
    }

    /// <summary>
    /// Two layers: the default layer, then a copy of it reading the first one's output sequence (64 wide, so memory_d
    /// 4, the default's cap), each changed by <paramref name="change"/>; the same head.
    /// </summary>
    private static LmuNetworkOptions Stack(LmuNetworkOptions n, Action<LmuLayerOptions> change)
    {
        var first = n.Layer.Clone();
        var second = first.Clone();
        second.InputSize = first.OutputSize;
        second.MemoryD = Math.Min(second.InputSize, 4);
        change(first);
        change(second);
        return new LmuNetworkOptions
        {
            Layers = [first, second], HeadHiddenSizes = n.HeadHiddenSizes.ToArray(), HeadActivation = n.HeadActivation,
            HeadDropout = n.HeadDropout, OutputSize = n.OutputSize,
        };
    }

    /// <summary>
    /// The training seed of every variant for a run seed: the one the experiment gives its configuration 0 at rung 0,
    /// which the `ucr` command's default column used when it trained through the experiment.
    /// </summary>
    public static int TrainingSeed(int seed) => unchecked((seed * 1_000_003) + 7919);

    /// <summary>The variant the `ucr` command's default column trains (chosen as <c>conv2global+both</c>, EXPERIMENTS.md "Seventh round").</summary>
    public const string DefaultVariant = "conv2global";

    /// <summary>
    /// The default network (variant <see cref="DefaultVariant"/>, chosen as <c>conv2global+both</c>): two feed-forward
    /// Dense(64, ReLU) layers over windows of T/8 at order 16 (the first with a memory per input channel, the second
    /// memory_d 8 over the first's 64 channels plus their current step), then the <c>ucr</c> layer (order 32, theta = T,
    /// SimpleRnn(64), memory_d 4) over the whole row, read through <see cref="LmuReadout.LastStepMeanAndMax"/>; dropout
    /// 0.1 in every layer. Over <paramref name="inputChannels"/> channels (2 with "+both"), as the study trained it.
    /// </summary>
    public static LmuNetworkOptions DefaultNetwork(int steps, int seriesChannels, int inputChannels)
        => AllVariants[DefaultVariant](BaseConfiguration(steps, seriesChannels).NetworkOptions(inputChannels, 2));

    /// <summary>The ucr network every variant changes: order 32, theta = T, memory_d = min(C, 4), SimpleRnn(64), lr 3e-3, dropout 0.1, 300 epochs.</summary>
    private static LmuTrialConfiguration BaseConfiguration(int steps, int channels, int epochs = 300)
        => new(32, steps, Math.Min(channels, 4), 64, HiddenCell.SimpleRnn, 3e-3, 0.1, epochs);

    public static int Run(Settings s)
    {
        var ucr = SharedFolder.Find(Path.Combine("data", "ucr"));
        if (ucr is null)
        {
            Console.Error.WriteLine("error: shared/data/ucr not found above the working directory (or set LMU_SHARED_DIR).");
            return 2;
        }

        var unknown = s.Variants.Where(v => !AllVariants.ContainsKey(NetworkPart(v)) || !KnownSuffixes(v) || RepeatsASuffix(v) || (Has(v, StandardizeSuffix) && Has(v, BothSuffix))).ToList();
        if (unknown.Count > 0)
        {
            Console.Error.WriteLine($"error: unknown variant(s) {string.Join(", ", unknown)}; known: {string.Join(", ", AllVariants.Keys)}, each optionally with +std or +both, +shift, +ensK (K from 2 to 100 networks averaged), +wdX (AdamW weight decay X > 0), +jitterX (training noise, X channel standard deviations), +warpX (smooth random time warps of log-scale strength X), +lrX (learning rate X) and +ridge (the head refitted by leave-one-out ridge), each at most once.");
            return 2;
        }

        if (s.Folds > 1)
        {
            // More folds than rows left a fold empty and printed NaN for the set (found by QA); every set is read first
            // so that no training runs before the refusal.
            foreach (var name in s.Datasets)
            {
                var rows = UcrLoader.LoadSplit(Path.Combine(ucr, name), name).Train.Rows.Count;
                if (s.Folds > rows)
                {
                    throw new ArgumentException($"--cv {s.Folds}: {name} has {rows} training rows, so at most {rows} folds.");
                }
            }
        }

        torch.set_num_threads(s.Threads);
        var what = s.Folds > 1 ? $"{s.Folds}-fold cross-validated accuracy inside the training split (the test split is not read)" : "test accuracy";
        Console.WriteLine($"torch threads {s.Threads}, epochs {s.Epochs}, seeds {string.Join(",", s.Seeds)}; {what} (train seconds), variants in turn per seed");
        Console.WriteLine($"{"dataset",-17} {"seed",4} | " + string.Join(" | ", s.Variants.Select(v => $"{v,16}")));
        var sums = s.Variants.ToDictionary(v => v, _ => new List<double>());
        foreach (var name in s.Datasets)
        {
            var (train, test) = UcrLoader.LoadSplit(Path.Combine(ucr, name), name);
            var ml = new MLContext(1);
            var steps = Math.Max(train.MaxLength, test.MaxLength);
            var trainData = LmuExperimentData.Read(train.ToDataView(ml, steps, rightAlign: true), "Label", "Features", train.Channels, null, "training");
            var testData = LmuExperimentData.Read(test.ToDataView(ml, steps, rightAlign: true), "Label", "Features", train.Channels, trainData.ClassNames, "test");
            var config = BaseConfiguration(steps, train.Channels, s.Epochs);
            foreach (var seed in s.Seeds)
            {
                var cells = new List<string>();
                var learned = new List<string>();
                foreach (var variant in s.Variants)
                {
                    var clock = Stopwatch.StartNew();
                    var trainingSeed = TrainingSeed(seed);
                    double accuracy;
                    if (s.Folds > 1)
                    {
                        var fold = trainData.Folds(s.Folds, seed);
                        var scores = new List<double>();
                        for (var k = 0; k < s.Folds; k++)
                        {
                            var fit = Enumerable.Range(0, trainData.Count).Where(i => fold[i] != k).ToArray();
                            var held = Enumerable.Range(0, trainData.Count).Where(i => fold[i] == k).ToArray();
                            var foldData = Prepare(variant, trainData, fit, trainData);
                            scores.Add(EnsembleAccuracy(variant, foldData.Train, fit, foldData.Score, held, config, trainingSeed, steps, null));
                        }

                        accuracy = scores.Average();
                        sums[variant].Add(accuracy);
                        cells.Add($"{accuracy.ToString("0.0000", CultureInfo.InvariantCulture)} ({clock.Elapsed.TotalSeconds,6:0.0}s)");
                        continue;
                    }

                    var all = Enumerable.Range(0, trainData.Count).ToArray();
                    var data = Prepare(variant, trainData, all, testData);
                    accuracy = EnsembleAccuracy(
                        variant, data.Train, all, data.Score, Enumerable.Range(0, testData.Count).ToArray(), config, trainingSeed, steps,
                        network => learned.Add($"{variant}: " + string.Join(" / ", network.Layers.Select(l => Moved(l.Dynamics, steps)))));
                    sums[variant].Add(accuracy);
                    cells.Add($"{accuracy.ToString("0.0000", CultureInfo.InvariantCulture)} ({clock.Elapsed.TotalSeconds,6:0.0}s)");
                }

                Console.WriteLine($"{name,-17} {seed,4} | " + string.Join(" | ", cells.Select(c => $"{c,16}")));
                if (learned.Count > 0)
                {
                    Console.WriteLine($"{"",22}   after training: {string.Join("; ", learned)}");
                }
            }
        }

        Console.WriteLine($"{"mean",-22} | " + string.Join(" | ", s.Variants.Select(v => $"{sums[v].Average().ToString("0.0000", CultureInfo.InvariantCulture),16}")));
        return 0;
    }

    /// <summary>Where training took the dynamics: theta, and Ad/Bd relative to the Legendre system at that theta.</summary>
    private static string Moved(LegendreDynamics d, int steps)
    {
        var theta = d.Theta;
        if (!d.IsLearned) return "fixed";
        var (ad, bd) = d.DiscreteMatrices();
        var reference = Maths.DiscreteLegendreSystem.Create(d.Order, Math.Max(theta, 1e-3), d.Method);
        double Rel(double[] a, double[] b) => Math.Sqrt(a.Zip(b, (u, v) => (u - v) * (u - v)).Sum() / b.Sum(v => v * v));
        var adRel = Rel(Maths.SquareMatrix.Flatten(ad), Maths.SquareMatrix.Flatten(reference.Ad));
        var bdRel = Rel(bd, reference.Bd);
        return string.Create(CultureInfo.InvariantCulture, $"theta {theta:0.##} (T {steps}), |dAd|/|Ad| {adRel:0.###}, |dBd|/|Bd| {bdRel:0.###}");
    }

    /// <summary>
    /// Accuracy on <paramref name="scoreRows"/> of the variant's network, or with "+ensK" of K networks trained from K
    /// seeds (the first the variant's own) whose class probabilities are averaged. <paramref name="first"/> sees the
    /// first network.
    /// </summary>
    private static double EnsembleAccuracy(
        string variant, LmuExperimentData train, int[] fitRows, LmuExperimentData score, int[] scoreRows, LmuTrialConfiguration config, int seed, int steps,
        Action<LmuNetwork>? first)
    {
        var members = EnsembleSize(variant);
        var classes = score.ClassNames.Count;
        var sum = new float[scoreRows.Length * classes];
        for (var k = 0; k < members; k++)
        {
            using var network = Train(train, fitRows, config, AllVariants[NetworkPart(variant)], unchecked(seed + (k * 104_729)), MaxShift(variant, steps), WeightDecay(variant), Jitter(variant), Warp(variant), LearningRate(variant));
            if (k == 0) first?.Invoke(network);
            var p = Has(variant, RidgeSuffix)
                ? RidgeHeadStudy.Probabilities(network, train, fitRows, score, scoreRows)
                : LmuTrialRunner.Probabilities(network, score, scoreRows);
            for (var i = 0; i < sum.Length; i++) sum[i] += p[i] / members;
        }

        return LmuTrialRunner.Metric(sum, scoreRows.Select(r => score.Labels[r]).ToArray(), classes, LmuExperimentMetric.MicroAccuracy);
    }

    /// <summary>"+ensK" (K &gt;= 2): K networks averaged; 1 without the suffix.</summary>
    private static int EnsembleSize(string variant)
    {
        var suffix = variant.Split('+').Skip(1).FirstOrDefault(f => f.StartsWith(EnsembleSuffix, StringComparison.Ordinal));
        return suffix is null ? 1 : int.Parse(suffix[EnsembleSuffix.Length..], CultureInfo.InvariantCulture);
    }

    private static LmuNetwork Train(
        LmuExperimentData data, int[] rows, LmuTrialConfiguration config, Func<LmuNetworkOptions, LmuNetworkOptions> variant, int seed, int maxShift, double weightDecay, double jitter, double warp, double? learningRate)
    {
        torch.manual_seed(seed);
        var options = variant(config.NetworkOptions(data.Channels, data.ClassNames.Count));
        var network = new LmuNetwork(options);
        var (x, y) = data.Tensors(rows);
        using (x)
        using (y)
        {
            ILmuBatchSource source = new TensorBatchSource(x, y, Math.Min(16, rows.Length), shuffle: true, seed);
            if (maxShift > 0) source = new TimeShiftBatchSource(source, maxShift, seed);
            if (warp > 0) source = new TimeWarpBatchSource(source, warp, seed);
            if (jitter > 0)
            {
                using var std = x.std([0, 1]);
                source = new JitterBatchSource(source, std.data<float>().ToArray(), jitter, seed);
            }
            LmuTrainer.Train(network, source, null, LmuLoss.CrossEntropy, new LmuTrainingOptions
            {
                Epochs = config.Epochs, BatchSize = 16, LearningRate = learningRate ?? config.LearningRate, Seed = seed, WeightDecay = weightDecay,
            });
        }

        network.eval();
        return network;
    }
}
