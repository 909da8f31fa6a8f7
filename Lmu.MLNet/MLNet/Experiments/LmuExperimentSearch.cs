using System.Diagnostics;
using System.Globalization;
using Lmu.MLNet.Featurize;

namespace Lmu.MLNet.Experiments;

/// <summary>
/// The search loop of one <see cref="LmuClassificationExperiment.Execute"/>: trial 0 (the fixed default) on every
/// fold, then the search on the first repeat's folds within the budget minus a reserve, then the finalists on every
/// repeat and the selection rule (see <see cref="LmuFoldStatistics"/>).
/// </summary>
internal sealed class LmuExperimentSearch(LmuExperimentSettings settings, LmuExperimentData data, LmuExperimentData? validation, LmuFitContext context)
{
    private readonly List<LmuTrialResult> _trials = [];

    // Fold-0 models of the trials that may still be chosen, kept only when the final model is not refitted.
    private readonly Dictionary<int, LmuCandidateFit> _kept = [];

    // Trial id -> its training seed (fold f trains with seed + f), and a final-rung trial -> the search trial it continues.
    private readonly Dictionary<int, int> _seeds = [];
    private readonly Dictionary<int, int> _sources = [];
    private readonly HashSet<int> _finalRung = [];
    // The default may use at most this share of the budget: its repeats are cut when its first repeat shows more would not fit.
    private const double DefaultShare = 1.0 / 3;
    private LmuTrialResult? _default;
    private LmuTrialResult? _defaultTrial;
    private int _defaultId = -1;
    private int _perRepeat = 1;
    private double _validToTrain = 1;
    private int _finalists = 1;

    /// <summary>A seed from the experiment seed, the network configuration and the rung, independent of timing.</summary>
    public static int TrainingSeed(int seed, int configuration, int rung) =>
        unchecked((seed * 1_000_003) + ((configuration + 1) * 7919) + (rung * 104_729));

    /// <summary>True when the pooled family is searched on this data (it is left out above its row limit).</summary>
    public static bool PooledRuns(LmuSearchSpace space, LmuExperimentData data) =>
        space.Includes(LmuModelFamily.PooledRidge) && data.Count <= space.PooledRidge.MaxTrainingRows;

    /// <summary>Automatic repeats: about 150 validation rows' worth of folds per trial, 1 to 5 repeats, 2 for a hold-out.</summary>
    public static int AutomaticRepeats(int rows, int foldsPerRepeat) =>
        Math.Max(foldsPerRepeat == 1 ? 2 : 1, Math.Clamp((int)Math.Ceiling(150.0 / rows), 1, 5));

    /// <summary>Automatic finalists: one per 50 training rows, 1 to 4.</summary>
    public static int AutomaticFinalists(int rows) => Math.Clamp(rows / 50, 1, 4);

    /// <summary>The featurizer seed of the pooled family's <paramref name="index"/>-th configuration (its own stream of ids, -2, -3, ...).</summary>
    private static int PooledSeed(int seed, int index) => TrainingSeed(seed, -2 - index, 0);

    /// <summary>
    /// The longest budget a timer holds (2^32 - 2 ms, 49.7 days, CancelAfter's limit): a longer one runs without a
    /// timer, bounded by MaxConfigurations or the cancellation token (4.3e6 s failed in CancelAfter, 1e12 s overflowed
    /// TimeSpan, both after the data had been read; found by QA).
    /// </summary>
    internal const double LongestTimedSeconds = (uint.MaxValue - 1) / 1000.0;

    private static void CancelAfter(CancellationTokenSource source, double seconds)
    {
        if (seconds <= LongestTimedSeconds)
        {
            source.CancelAfter(TimeSpan.FromSeconds(seconds));
        }
    }

    public (IReadOnlyList<LmuTrialResult> Trials, LmuTrialResult Best, LmuExperimentSelection Selection, LmuCandidateFit? Fit) Run()
    {
        var s = settings;
        var space = s.SearchSpace;
        var clock = Stopwatch.StartNew();
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(s.CancellationToken);
        CancelAfter(budget, s.MaxExperimentTimeInSeconds);
        // The search stops early enough to leave the finalists their time on the other repeats (reset after every trial).
        using var search = CancellationTokenSource.CreateLinkedTokenSource(budget.Token);
        var (splits, perRepeat) = Splits();
        _perRepeat = perRepeat;
        var repeats = splits.Count / perRepeat;
        _validToTrain = validation is not null
            ? validation.Count / (double)data.Count
            : splits.Average(p => p.Valid.Length) / splits.Average(p => p.Train.Length);
        _finalists = s.Finalists > 0 ? s.Finalists : AutomaticFinalists(data.Count);
        var firstRepeat = splits.Take(perRepeat).ToList();
        void Rebudget()
        {
            var reserve = TopEligible().Sum(t => t.Duration.TotalSeconds * (repeats - 1));
            var left = s.MaxExperimentTimeInSeconds - clock.Elapsed.TotalSeconds - reserve;
            if (left <= 0)
            {
                search.Cancel();
            }
            else
            {
                CancelAfter(search, left);
            }
        }

        // Separate generators, so the networks' configurations do not depend on whether the pooled family is searched.
        var rng = new Random(s.Seed);
        var pooledRng = new Random(unchecked((s.Seed * 31) + 17));
        var networks = space.Includes(LmuModelFamily.LmuNetwork);
        var pooled = PooledRuns(space, data);
        var bracketSize = (int)Math.Pow(s.HalvingRate, s.Rungs - 1);
        int sampled = 0, networkIds = 0, pooledIds = 0;
        int Allowed(int wanted) => s.MaxConfigurations == 0 ? wanted : Math.Min(wanted, s.MaxConfigurations - sampled);
        if (pooled && s.StartWithDefault && Allowed(1) > 0)
        {
            // Trial 0: the fixed default on every repeat's folds, the reference every challenger is compared with.
            sampled++;
            _defaultId = _trials.Count;
            // Within the budget: when the time budget bounds the search, the repeats are cut to what fits in a third of it
            // at the pace of the default's first repeat (so a slow machine gets fewer repeats, never no default).
            Func<TimeSpan, int>? cut = s.MaxConfigurations == 0 && repeats > 1
                ? firstRepeat =>
                {
                    var fit = (int)Math.Clamp(Math.Floor(s.MaxExperimentTimeInSeconds * DefaultShare / Math.Max(1e-3, firstRepeat.TotalSeconds)), 1, repeats);
                    splits.RemoveRange(fit * perRepeat, splits.Count - (fit * perRepeat));
                    repeats = fit;
                    return fit;
                }
                : null;
            _defaultTrial = RunTrial(s.DefaultOverride ?? DefaultFor(data, s.Seed), 0, null, 0, splits, 0, [], null, budget.Token, cut);
            _default = _defaultTrial.Status == LmuTrialStatus.Completed ? _defaultTrial : null;
        }

        while (!search.IsCancellationRequested && (s.MaxConfigurations == 0 || sampled < s.MaxConfigurations))
        {
            // The pooled family has no epochs to halve: a few configurations run fully at the head of each bracket,
            // cheap and early, and compete on the metric as fully trained models.
            for (var i = pooled ? Allowed(space.PooledRidge.TrialsPerBracket) : 0; i > 0 && !search.IsCancellationRequested; i--)
            {
                var index = pooledIds++;
                sampled++;
                RunTrial(space.PooledRidge.Sample(pooledRng, index, PooledSeed(s.Seed, index)), 0, null, 0, firstRepeat, 0, [], null, search.Token);
                Rebudget();
            }

            if (!networks)
            {
                continue;
            }

            var n = Allowed(bracketSize);
            var alive = Enumerable.Range(networkIds, n).Select(id => (Id: id, Config: space.Sample(rng, data.Steps))).ToList();
            networkIds += n;
            sampled += n;
            for (var rung = 0; rung < s.Rungs && alive.Count > 0 && !search.IsCancellationRequested; rung++)
            {
                var scored = new List<(int Id, LmuTrialConfiguration Config, double Metric)>();
                foreach (var (id, config) in alive)
                {
                    if (search.IsCancellationRequested)
                    {
                        break;
                    }

                    var epochs = Math.Max(1, (int)Math.Round(config.Epochs / Math.Pow(s.HalvingRate, s.Rungs - 1 - rung)));
                    var result = RunTrial(config, rung, epochs, TrainingSeed(s.Seed, id, rung), firstRepeat, 0, [], null, search.Token);
                    Rebudget();
                    if (result.Metric is double m)
                    {
                        scored.Add((id, config, m));
                    }
                }

                // Promote the best 1/eta (at least one); a stable sort keeps the earlier configuration on ties.
                var keep = Math.Max(1, alive.Count / s.HalvingRate);
                alive = scored
                    .OrderBy(t => s.OptimizingMetric == LmuExperimentMetric.LogLoss ? t.Metric : -t.Metric)
                    .Take(keep)
                    .Select(t => (t.Id, t.Config))
                    .ToList();
            }
        }

        // The final rung: the best few fully trained trials of the search, on the other repeats' folds too.
        var finals = new List<LmuTrialResult>();
        foreach (var t in TopEligible())
        {
            if (repeats == 1)
            {
                finals.Add(t);
                continue;
            }

            if (budget.IsCancellationRequested)
            {
                break;
            }

            var r = RunTrial(t.Configuration, s.Rungs, t.Family == LmuModelFamily.LmuNetwork ? t.EpochsTrained : null, _seeds[t.TrialId], splits, perRepeat, t.FoldMetrics, t.TrialId, budget.Token);
            if (r.Status == LmuTrialStatus.Completed)
            {
                finals.Add(r);
            }
        }

        var challenger = finals.OrderBy(t => Rank(t.Metric!.Value)).ThenBy(t => t.TrialId).FirstOrDefault();
        var best = challenger;
        LmuExperimentSelection selection = new(_defaultTrial?.Status == LmuTrialStatus.Failed ? null : _defaultTrial, null, null, null);
        if (_default is not null)
        {
            best = _default;
            if (challenger is not null)
            {
                var (mean, se) = LmuFoldStatistics.Improvement(challenger.FoldMetrics, _default.FoldMetrics, _validToTrain, s.OptimizingMetric);
                selection = selection with { Challenger = challenger, Improvement = mean, ImprovementStandardError = se };
                if (LmuFoldStatistics.Replaces(mean, se, s.SelectionStandardErrors))
                {
                    best = challenger;
                }
            }
        }

        best ??= Fallback();
        if (best is null && _defaultTrial is { Status: LmuTrialStatus.StoppedByBudget } && !s.CancellationToken.IsCancellationRequested)
        {
            // The budget ran out before the default's folds were done and nothing else completed: without any evidence
            // against it, the default is the model (fitted on all rows by the caller).
            best = _defaultTrial;
        }
        if (best is null)
        {
            DisposeKept(-1);
            s.CancellationToken.ThrowIfCancellationRequested();
            var failures = string.Join("; ", _trials.Where(t => t.Error is not null).Take(5).Select(t => $"trial {t.TrialId}: {t.Error}"));
            // What to change: QA's 10,000 rows under 60 s got this message with nothing to act on.
            var stopped = _trials.Where(t => t.Status == LmuTrialStatus.StoppedByBudget).ToList();
            var hint = stopped.Count == 0
                ? string.Empty
                : string.Create(CultureInfo.InvariantCulture,
                    $"The budget stopped {stopped.Count} trial(s), the longest after {stopped.Max(t => t.Duration.TotalSeconds):F1} s without finishing: give a larger MaxExperimentTimeInSeconds, or fewer training rows. ");
            throw new InvalidOperationException(
                $"LMU experiment: no trial completed within {s.MaxExperimentTimeInSeconds} s ({_trials.Count} started). {hint}{failures}".TrimEnd());
        }

        var source = _sources.GetValueOrDefault(best.TrialId, best.TrialId);
        var fit = _kept.GetValueOrDefault(source);
        DisposeKept(source);
        return (_trials, best, selection, fit);
    }

    /// <summary>
    /// Fits and scores one configuration on <paramref name="splits"/> from <paramref name="firstFold"/> on, after the
    /// <paramref name="carried"/> metrics of the earlier folds; <paramref name="epochs"/> is null for the pooled family.
    /// </summary>
    private LmuTrialResult RunTrial(
        LmuModelConfiguration config, int rung, int? epochs, int seed, IReadOnlyList<(int[] Train, int[] Valid)> splits, int firstFold,
        IReadOnlyList<double> carried, int? source, CancellationToken ct, Func<TimeSpan, int>? afterFirstRepeat = null)
    {
        var clock = Stopwatch.StartNew();
        var trialId = _trials.Count;
        var trained = epochs ?? 0;
        var keepFit = validation is not null || !settings.RefitOnAllData;
        LmuTrialResult result;
        LmuCandidateFit? kept = null;
        try
        {
            settings.BeforeTrial?.Invoke(config);
            var metrics = new List<double>(carried);
            for (var f = firstFold; f < splits.Count; f++)
            {
                ct.ThrowIfCancellationRequested();
                var fit = LmuCandidateFit.Fit(config, data, splits[f].Train, epochs, seed + f, context, ct);
                try
                {
                    var metric = validation is null
                        ? fit.Score(data, splits[f].Valid, settings.OptimizingMetric, ct)
                        : fit.Score(validation, Enumerable.Range(0, validation.Count).ToArray(), settings.OptimizingMetric, ct);
                    metrics.Add(settings.FoldMetricOverride?.Invoke(config, f, splits[f].Valid, metric) ?? metric);
                    if (f + 1 == _perRepeat)
                    {
                        // May shorten splits (the loop bound reads its count).
                        afterFirstRepeat?.Invoke(clock.Elapsed);
                    }
                }
                catch
                {
                    fit.Dispose();
                    throw;
                }

                // The first fold's model stands for the trial when there is no refit.
                if (f == 0 && keepFit)
                {
                    kept = fit;
                }
                else
                {
                    fit.Dispose();
                }
            }

            result = new LmuTrialResult(trialId, config, rung, trained, LmuTrialStatus.Completed, metrics.Average(), clock.Elapsed, null)
            {
                FoldMetrics = metrics,
                MetricStandardError = LmuFoldStatistics.StandardError(metrics, _validToTrain),
            };
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            kept?.Dispose();
            kept = null;
            // The budget's token is linked to the caller's: the caller's own token says which one stopped the trial.
            var status = settings.CancellationToken.IsCancellationRequested ? LmuTrialStatus.Cancelled : LmuTrialStatus.StoppedByBudget;
            result = new LmuTrialResult(trialId, config, rung, trained, status, null, clock.Elapsed, null);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            kept?.Dispose();
            kept = null;
            result = new LmuTrialResult(trialId, config, rung, trained, LmuTrialStatus.Failed, null, clock.Elapsed, $"{e.GetType().Name}: {e.Message}");
        }

        _trials.Add(result);
        _seeds[trialId] = seed;
        if (source is int from)
        {
            _sources[trialId] = from;
            _finalRung.Add(trialId);
        }

        if (kept is not null)
        {
            _kept[trialId] = kept;
        }

        Prune();
        try
        {
            settings.Progress?.Report(result);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // As AutoML does: a handler that throws is reported, not a reason to lose the search (it ended Execute and
            // left the kept candidates' ONNX files behind; found by QA).
            System.Diagnostics.Trace.TraceWarning($"LMU experiment: the progress handler threw on trial {trialId} ({e.GetType().Name}: {e.Message}); the search goes on.");
        }

        return result;
    }

    /// <summary>Sort key: smaller is better.</summary>
    private double Rank(double metric) => settings.OptimizingMetric == LmuExperimentMetric.LogLoss ? metric : -metric;

    /// <summary>How fully a trial was trained: a network's rung; a pooled trial has no epochs, so it counts as the last rung.</summary>
    private int Fidelity(LmuTrialResult r) => r.Family == LmuModelFamily.PooledRidge ? settings.Rungs - 1 : r.Rung;

    /// <summary>
    /// The finalists so far: completed, fully trained search trials (not the default, not final-rung ones), best first
    /// by their first-repeat metric, ties: the earlier trial.
    /// </summary>
    private List<LmuTrialResult> TopEligible() => _trials
        .Where(t => t.Metric is not null && t.TrialId != _defaultId && !_finalRung.Contains(t.TrialId) && Fidelity(t) == settings.Rungs - 1)
        .OrderBy(t => Rank(t.Metric!.Value))
        .ThenBy(t => t.TrialId)
        .Take(_finalists)
        .ToList();

    /// <summary>
    /// Without a default and without a finished final rung: the best completed search trial among the most fully
    /// trained (a network's early-rung metric understates it), by the metric; ties keep the earlier trial.
    /// </summary>
    private LmuTrialResult? Fallback()
    {
        var done = _trials.Where(t => t.Metric is not null && !_finalRung.Contains(t.TrialId)).ToList();
        return done.Count == 0
            ? null
            : done.OrderByDescending(Fidelity).ThenBy(t => Rank(t.Metric!.Value)).ThenBy(t => t.TrialId).First();
    }

    /// <summary>Disposes the kept models of trials that can no longer be chosen.</summary>
    private void Prune()
    {
        if (_kept.Count == 0)
        {
            return;
        }

        var alive = TopEligible().Select(t => t.TrialId).ToHashSet();
        alive.Add(_defaultId);
        alive.Add(Fallback()?.TrialId ?? -1);
        foreach (var id in _kept.Keys.Where(id => !alive.Contains(id)).ToList())
        {
            _kept[id].Dispose();
            _kept.Remove(id);
        }
    }

    private void DisposeKept(int except)
    {
        foreach (var (id, fit) in _kept)
        {
            if (id != except)
            {
                fit.Dispose();
            }
        }

        _kept.Clear();
    }

    /// <summary>
    /// The fold a hold-out validates: drawn with <paramref name="seed"/> among the folds that hold a row and leave at
    /// least two classes to train on. It was always fold 0, where a class's first row sat whatever the seed, so a class
    /// of one row was validated in every repeat and never trained on (found by QA); a drawn fold keeps the hold-out's
    /// size (the deal is unchanged) and makes which rows are held out depend on the seed alone.
    /// </summary>
    private int HoldOutFold(int[] fold, int folds, int seed)
    {
        // Rows per fold and class in one pass (a scan of every row per fold cost seconds for hundreds of folds; review).
        var classes = data.ClassNames.Count;
        var counts = new int[folds, classes];
        var perClass = new int[classes];
        for (var i = 0; i < data.Count; i++)
        {
            counts[fold[i], data.Labels[i]]++;
            perClass[data.Labels[i]]++;
        }

        var eligible = Enumerable.Range(0, folds)
            .Where(f => Enumerable.Range(0, classes).Any(c => counts[f, c] > 0)
                        && Enumerable.Range(0, classes).Count(c => perClass[c] - counts[f, c] > 0) >= 2)
            .ToArray();
        if (eligible.Length == 0)
        {
            throw new ArgumentException(
                $"LMU experiment: the training data has {data.Count} rows in {data.Labels.Distinct().Count()} classes, too few for a hold-out of " +
                $"ValidationFraction = {settings.ValidationFraction}: no split leaves both a row to validate on and two classes to train on. " +
                "Give more rows of each class, a larger ValidationFraction, or validationData.");
        }

        // Its own stream: the fold seed's draws are the deal's shuffles, which stay as they were, and seed * 31 + 17 is the
        // pooled family's sampler (the held-out fold moved with its first configuration; review).
        return eligible[new Random(TrainingSeed(seed, -3_000_000, 0)).Next(eligible.Length)];
    }

    /// <summary>Every repeat's splits, repeat by repeat, and the splits per repeat (k folds, or 1 for a hold-out).</summary>
    private (List<(int[] Train, int[] Valid)> Splits, int PerRepeat) Splits()
    {
        var all = Enumerable.Range(0, data.Count).ToArray();
        if (validation is not null)
        {
            return ([(all, [])], 1);
        }

        var s = settings;
        var folds = s.CrossValidationFolds >= 2 ? s.CrossValidationFolds : (int)Math.Round(1 / s.ValidationFraction);
        var used = s.CrossValidationFolds >= 2 ? s.CrossValidationFolds : 1;
        var repeats = s.CrossValidationRepeats > 0 ? s.CrossValidationRepeats : AutomaticRepeats(data.Count, used);
        var splits = new List<(int[] Train, int[] Valid)>();
        for (var r = 0; r < repeats; r++)
        {
            // Repeat 0 keeps the experiment seed's folds (for cross-validation, the single-repeat splits of earlier versions).
            var foldSeed = r == 0 ? s.Seed : TrainingSeed(s.Seed, -1_000_000 - r, 0);
            var fold = data.Folds(Math.Max(2, folds), foldSeed);
            var validated = used > 1 ? Enumerable.Range(0, used).ToArray() : [HoldOutFold(fold, Math.Max(2, folds), foldSeed)];
            foreach (var f in validated)
            {
                var train = all.Where(i => fold[i] != f).ToArray();
                var valid = all.Where(i => fold[i] == f).ToArray();
                var classes = train.Select(i => data.Labels[i]).Distinct().Count();
                if (classes < 2 || valid.Length == 0)
                {
                    // Every trial failed on it, and the experiment blamed its budget ("no trial completed"; found by QA).
                    var how = $"{s.CrossValidationFolds}-fold cross-validation";
                    var left = valid.Length == 0 ? "no row to validate on" : $"{classes} class(es) to train on";
                    throw new ArgumentException(
                        $"LMU experiment: the training data has {data.Count} rows in {data.Labels.Distinct().Count()} classes, too few for {how}: a split leaves {left}. " +
                        "Give more rows of each class, fewer folds, or validationData.");
                }

                splits.Add((train, valid));
            }
        }

        return (splits, used);
    }

    /// <summary>
    /// The default configuration for this data: rows of one value (1 step x 1 channel) are not z-scored, which would make
    /// every feature 0 and is refused, so the default failed and the search had nothing to fall back on (QA).
    /// </summary>
    private static LmuPooledRidgeConfiguration DefaultFor(LmuExperimentData data, int seed)
    {
        var configuration = LmuPooledRidgeConfiguration.Default(data.Channels, seed);
        return data.Steps * data.Channels == 1 ? configuration with { Normalization = LmuFeatureNormalization.None } : configuration;
    }
}
