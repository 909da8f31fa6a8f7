using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Experiments;

/// <summary>
/// AutoML-style search for a sequence classifier over two model families (<see cref="LmuSearchSpace.Families"/>):
/// LMU networks, as random configurations pruned by successive halving (brackets of <c>HalvingRate^(Rungs-1)</c>
/// configurations trained for a fraction of their epochs, the best <c>1/HalvingRate</c> promoted to more epochs), and
/// pooled Legendre memories + ridge (<see cref="LmuModelFamily.PooledRidge"/>), a few configurations evaluated fully at
/// the start of each bracket; all within a time budget and under the same folds or hold-out and metric. Returns every
/// trial and the best model as an ML.NET transformer ready to save.
/// </summary>
/// <remarks>
/// <para>Deterministic under <see cref="LmuExperimentSettings.Seed"/> for the trials that run: the sequence of
/// configurations, the splits and each trial's initialisation, shuffling and random features depend on the seed only
/// (which trials fit in the time budget depends on the machine; set <see cref="LmuExperimentSettings.MaxConfigurations"/>
/// for a fully reproducible run). The networks' configurations and seeds do not depend on whether the pooled family is
/// searched.</para>
/// <para>The best trial is chosen among the most fully trained: networks at the highest rung reached, a pooled trial
/// counting as fully trained (it has no epochs); then by the metric; ties keep the earlier trial.</para>
/// <para>Rows must have a fixed length; right-align variable-length series (zeros first, see
/// <see cref="TimeSeriesDataset.ToDataView"/>) so every row ends on its real last step, which makes the zeros
/// invisible to a network. The pooled family reads them as steps (a projection sits at its bias there, and a per-row
/// z-score counts them in the mean); for strongly variable lengths, <see cref="LmuPooledFeaturizerOptions.LengthColumnName"/>
/// in a pipeline of your own reads only the real steps.</para>
/// </remarks>
public sealed class LmuClassificationExperiment
{
    private readonly MLContext _ml;
    private readonly LmuExperimentSettings _settings;

    /// <summary>Creates the experiment; the settings are validated.</summary>
    public LmuClassificationExperiment(MLContext mlContext, LmuExperimentSettings settings)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        _ml = mlContext;
        _settings = settings;
    }

    /// <summary>Runs the search.</summary>
    /// <param name="trainData">Training rows.</param>
    /// <param name="validationData">Validation rows; null: cross-validation or a hold-out (see the settings).</param>
    /// <param name="labelColumnName">Label column (text, or a key with text values). Default "Label".</param>
    /// <param name="featuresColumnName">Fixed-size Vector&lt;Single&gt;, time-major. Default "Features".</param>
    /// <param name="channels">Values per step. Default 1.</param>
    /// <param name="preprocessing">
    /// Optional estimators run before the model (fit once on <paramref name="trainData"/>); they must leave
    /// <paramref name="featuresColumnName"/> a fixed-size Vector&lt;Single&gt; of steps x channels. Default none.
    /// </param>
    /// <exception cref="ArgumentException">
    /// A column is missing or of the wrong type, or no family can run (the pooled family alone, on more rows than its
    /// <see cref="LmuPooledRidgeSearchSpace.MaxTrainingRows"/>); before any training.
    /// </exception>
    /// <exception cref="InvalidOperationException">No trial completed (the message lists the failures).</exception>
    /// <exception cref="OperationCanceledException">Cancelled before any trial completed.</exception>
    public LmuExperimentResult Execute(
        IDataView trainData,
        IDataView? validationData = null,
        string labelColumnName = "Label",
        string featuresColumnName = "Features",
        int channels = 1,
        IEstimator<ITransformer>? preprocessing = null)
    {
        ArgumentNullException.ThrowIfNull(trainData);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        var prefix = preprocessing?.Fit(trainData);
        var train = prefix?.Transform(trainData) ?? trainData;
        var data = LmuExperimentData.Read(train, labelColumnName, featuresColumnName, channels, null, "training");
        var validation = validationData is null
            ? null
            : LmuExperimentData.Read(prefix?.Transform(validationData) ?? validationData, labelColumnName, featuresColumnName, channels, data.ClassNames, "validation");
        var space = _settings.SearchSpace;
        if (!space.Includes(LmuModelFamily.LmuNetwork) && !PooledRuns(space, data))
        {
            throw new ArgumentException(
                $"LMU experiment: no model family can run. LmuSearchSpace.Families holds only PooledRidge, which is left out above " +
                $"LmuSearchSpace.PooledRidge.MaxTrainingRows = {space.PooledRidge.MaxTrainingRows} rows, and the training data has {data.Count}.");
        }

        if (space.Includes(LmuModelFamily.LmuNetwork))
        {
            // Before any trial: a native library that cannot load fails once with its cause, not as every trial's failure.
            TorchNative.EnsureLoaded();
        }

        var context = new LmuFitContext(_settings, featuresColumnName, labelColumnName == featuresColumnName ? labelColumnName + ".key" : labelColumnName,
            UniqueName("LmuPooledFeatures", train.Schema, featuresColumnName, labelColumnName));
        var search = new Search(_settings, data, validation, context);
        var clock = Stopwatch.StartNew();
        var (trials, best, bestFit) = search.Run();
        var searchTime = clock.Elapsed;
        clock.Restart();
        try
        {
            if (validation is null && _settings.RefitOnAllData)
            {
                bestFit?.Dispose();
                bestFit = null;
                bestFit = LmuCandidateFit.Fit(best.Configuration, data, Enumerable.Range(0, data.Count).ToArray(), null,
                    Search.TrainingSeed(_settings.Seed, -1, 0), context, CancellationToken.None);
            }

            var model = bestFit!.TakeModel(_ml, train);
            if (prefix is not null)
            {
                model = new TransformerChain<ITransformer>(prefix, model);
            }

            model = LabelValuesInAndOut(model, trainData, labelColumnName, data.ClassNames);

            return new LmuExperimentResult(trials, best, model, data.ClassNames, searchTime, clock.Elapsed);
        }
        finally
        {
            bestFit?.Dispose();
        }
    }

    /// <summary>
    /// AutoML's shape for the best model: a text label is mapped to keys inside the model (in <paramref name="classNames"/>
    /// order, so slot k of Score is class k) and PredictedLabel is mapped back to the label's values at the end, so
    /// <c>mlContext.MulticlassClassification.Evaluate(model.Transform(rawData))</c> works on the raw training schema and
    /// predictions read as the user's labels. A key label is kept as it is (its values are already the classes).
    /// </summary>
    private ITransformer LabelValuesInAndOut(ITransformer model, IDataView trainData, string labelColumnName, IReadOnlyList<string> classNames)
    {
        var parts = new List<ITransformer>();
        var input = trainData;
        if (trainData.Schema[labelColumnName].Type is not KeyDataViewType)
        {
            var keys = _ml.Data.LoadFromEnumerable(classNames.Select(n => new ScalarText { Value = n }));
            var toKey = _ml.Transforms.Conversion.MapValueToKey(labelColumnName, keyData: keys).Fit(trainData);
            parts.Add(toKey);
            input = toKey.Transform(trainData);
        }

        parts.Add(model);
        var scored = model.Transform(input);
        parts.Add(_ml.Transforms.Conversion.MapKeyToValue("PredictedLabel").Fit(scored));
        return new TransformerChain<ITransformer>(parts.ToArray());
    }

    /// <summary>True when the pooled family is searched on this data (it is left out above its row limit).</summary>
    private static bool PooledRuns(LmuSearchSpace space, LmuExperimentData data) =>
        space.Includes(LmuModelFamily.PooledRidge) && data.Count <= space.PooledRidge.MaxTrainingRows;

    /// <summary><paramref name="name"/>, or it with a numeric suffix, absent from <paramref name="schema"/> and <paramref name="taken"/>.</summary>
    private static string UniqueName(string name, DataViewSchema schema, params string[] taken)
    {
        var candidate = name;
        for (var i = 1; schema.GetColumnOrNull(candidate) is not null || taken.Contains(candidate); i++)
        {
            candidate = $"{name}.{i}";
        }

        return candidate;
    }

    /// <summary>The search loop (one instance per Execute).</summary>
    private sealed class Search(LmuExperimentSettings settings, LmuExperimentData data, LmuExperimentData? validation, LmuFitContext context)
    {
        private readonly List<LmuTrialResult> _trials = [];
        private LmuTrialResult? _best;
        private LmuCandidateFit? _bestFit;

        /// <summary>A seed from the experiment seed, the network configuration and the rung, independent of timing.</summary>
        public static int TrainingSeed(int seed, int configuration, int rung) =>
            unchecked((seed * 1_000_003) + ((configuration + 1) * 7919) + (rung * 104_729));

        /// <summary>The featurizer seed of the pooled family's <paramref name="index"/>-th configuration (its own stream of ids, -2, -3, ...).</summary>
        private static int PooledSeed(int seed, int index) => TrainingSeed(seed, -2 - index, 0);

        public (IReadOnlyList<LmuTrialResult> Trials, LmuTrialResult Best, LmuCandidateFit? Fit) Run()
        {
            var s = settings;
            var space = s.SearchSpace;
            using var budget = CancellationTokenSource.CreateLinkedTokenSource(s.CancellationToken);
            budget.CancelAfter(TimeSpan.FromSeconds(s.MaxExperimentTimeInSeconds));
            var splits = Splits();
            // Separate generators, so the networks' configurations do not depend on whether the pooled family is searched.
            var rng = new Random(s.Seed);
            var pooledRng = new Random(unchecked((s.Seed * 31) + 17));
            var networks = space.Includes(LmuModelFamily.LmuNetwork);
            var pooled = PooledRuns(space, data);
            var bracketSize = (int)Math.Pow(s.HalvingRate, s.Rungs - 1);
            int sampled = 0, networkIds = 0, pooledIds = 0;
            int Allowed(int wanted) => s.MaxConfigurations == 0 ? wanted : Math.Min(wanted, s.MaxConfigurations - sampled);
            while (!budget.IsCancellationRequested && (s.MaxConfigurations == 0 || sampled < s.MaxConfigurations))
            {
                // The pooled family has no epochs to halve: a few configurations run fully at the head of each bracket,
                // cheap and early, and compete on the metric as fully trained models.
                for (var i = pooled ? Allowed(space.PooledRidge.TrialsPerBracket) : 0; i > 0 && !budget.IsCancellationRequested; i--)
                {
                    var index = pooledIds++;
                    sampled++;
                    RunTrial(space.PooledRidge.Sample(pooledRng, index, PooledSeed(s.Seed, index)), 0, null, 0, splits, budget.Token);
                }

                if (!networks)
                {
                    continue;
                }

                var n = Allowed(bracketSize);
                var alive = Enumerable.Range(networkIds, n).Select(id => (Id: id, Config: space.Sample(rng, data.Steps))).ToList();
                networkIds += n;
                sampled += n;
                for (var rung = 0; rung < s.Rungs && alive.Count > 0 && !budget.IsCancellationRequested; rung++)
                {
                    var scored = new List<(int Id, LmuTrialConfiguration Config, double Metric)>();
                    foreach (var (id, config) in alive)
                    {
                        if (budget.IsCancellationRequested)
                        {
                            break;
                        }

                        var epochs = Math.Max(1, (int)Math.Round(config.Epochs / Math.Pow(s.HalvingRate, s.Rungs - 1 - rung)));
                        var result = RunTrial(config, rung, epochs, TrainingSeed(s.Seed, id, rung), splits, budget.Token);
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

            if (_best is null)
            {
                _bestFit?.Dispose();
                s.CancellationToken.ThrowIfCancellationRequested();
                var failures = string.Join("; ", _trials.Where(t => t.Error is not null).Take(5).Select(t => $"trial {t.TrialId}: {t.Error}"));
                throw new InvalidOperationException(
                    $"LMU experiment: no trial completed within {s.MaxExperimentTimeInSeconds} s ({_trials.Count} started). {failures}");
            }

            return (_trials, _best, _bestFit);
        }

        /// <summary>Fits and scores one configuration on every split; <paramref name="epochs"/> is null for the pooled family.</summary>
        private LmuTrialResult RunTrial(LmuModelConfiguration config, int rung, int? epochs, int seed, IReadOnlyList<(int[] Train, int[] Valid)> splits, CancellationToken ct)
        {
            var clock = Stopwatch.StartNew();
            var trialId = _trials.Count;
            var trained = epochs ?? 0;
            LmuTrialResult result;
            LmuCandidateFit? kept = null;
            try
            {
                settings.BeforeTrial?.Invoke(config);
                var metrics = new List<double>();
                for (var f = 0; f < splits.Count; f++)
                {
                    ct.ThrowIfCancellationRequested();
                    var fit = LmuCandidateFit.Fit(config, data, splits[f].Train, epochs, seed + f, context, ct);
                    try
                    {
                        metrics.Add(validation is null
                            ? fit.Score(data, splits[f].Valid, settings.OptimizingMetric, ct)
                            : fit.Score(validation, Enumerable.Range(0, validation.Count).ToArray(), settings.OptimizingMetric, ct));
                    }
                    catch
                    {
                        fit.Dispose();
                        throw;
                    }

                    // The first fold's model stands for the trial when there is no refit.
                    if (f == 0)
                    {
                        kept = fit;
                    }
                    else
                    {
                        fit.Dispose();
                    }
                }

                result = new LmuTrialResult(trialId, config, rung, trained, LmuTrialStatus.Completed, metrics.Average(), clock.Elapsed, null);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                kept?.Dispose();
                kept = null;
                result = new LmuTrialResult(trialId, config, rung, trained, LmuTrialStatus.StoppedByBudget, null, clock.Elapsed, null);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                kept?.Dispose();
                kept = null;
                result = new LmuTrialResult(trialId, config, rung, trained, LmuTrialStatus.Failed, null, clock.Elapsed, $"{e.GetType().Name}: {e.Message}");
            }

            _trials.Add(result);
            if (result.Metric is double metric && IsNewBest(result, metric))
            {
                _best = result;
                _bestFit?.Dispose();
                _bestFit = kept;
            }
            else
            {
                kept?.Dispose();
            }

            settings.Progress?.Report(result);
            return result;
        }

        /// <summary>How fully a trial was trained: a network's rung; a pooled trial has no epochs, so it counts as the last rung.</summary>
        private int Fidelity(LmuTrialResult r) => r.Family == LmuModelFamily.PooledRidge ? settings.Rungs - 1 : r.Rung;

        // More fully trained trials win over less trained ones (a network's early-rung metric understates it); at the same
        // fidelity the metric decides, ties keep the earlier trial.
        private bool IsNewBest(LmuTrialResult r, double metric) =>
            _best is null || Fidelity(r) > Fidelity(_best)
            || (Fidelity(r) == Fidelity(_best) && LmuTrialRunner.Better(metric, _best.Metric!.Value, settings.OptimizingMetric));

        private List<(int[] Train, int[] Valid)> Splits()
        {
            var all = Enumerable.Range(0, data.Count).ToArray();
            if (validation is not null)
            {
                return [(all, [])];
            }

            var folds = settings.CrossValidationFolds >= 2 ? settings.CrossValidationFolds : (int)Math.Round(1 / settings.ValidationFraction);
            var fold = data.Folds(Math.Max(2, folds), settings.Seed);
            var used = settings.CrossValidationFolds >= 2 ? settings.CrossValidationFolds : 1;
            return Enumerable.Range(0, used)
                .Select(f => (all.Where(i => fold[i] != f).ToArray(), all.Where(i => fold[i] == f).ToArray()))
                .ToList();
        }
    }
}
