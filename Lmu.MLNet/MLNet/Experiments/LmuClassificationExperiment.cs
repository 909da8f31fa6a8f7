using System.Diagnostics;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Onnx;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.MLNet;

/// <summary>
/// AutoML-style search for an LMU sequence classifier: random configurations from an <see cref="LmuSearchSpace"/>,
/// pruned by successive halving (brackets of <c>HalvingRate^(Rungs-1)</c> configurations trained for a fraction of
/// their epochs, the best <c>1/HalvingRate</c> promoted to more epochs), within a time budget. Returns every trial and
/// the best model as an ML.NET transformer ready to save.
/// </summary>
/// <remarks>
/// Deterministic under <see cref="LmuExperimentSettings.Seed"/> for the trials that run: the sequence of
/// configurations, the splits and each trial's initialisation and shuffling depend on the seed only (which trials fit
/// in the time budget depends on the machine; set <see cref="LmuExperimentSettings.MaxConfigurations"/> for a fully
/// reproducible run). Rows must have a fixed length; right-align variable-length series (zeros first, see
/// <see cref="TimeSeriesDataset.ToDataView"/>) so every row ends on its real last step.
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
    /// Optional estimators run before the LMU (fit once on <paramref name="trainData"/>); they must leave
    /// <paramref name="featuresColumnName"/> a fixed-size Vector&lt;Single&gt; of steps x channels. Default none.
    /// </param>
    /// <exception cref="ArgumentException">A column is missing or of the wrong type (before any training).</exception>
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

        var search = new Search(_settings, data, validation);
        var clock = Stopwatch.StartNew();
        var (trials, best, bestNetwork) = search.Run();
        var searchTime = clock.Elapsed;
        clock.Restart();
        try
        {
            if (validation is null && _settings.RefitOnAllData)
            {
                bestNetwork?.Dispose();
                bestNetwork = LmuTrialRunner.Train(data, Enumerable.Range(0, data.Count).ToArray(), best.Configuration, best.Configuration.Epochs,
                    Search.TrainingSeed(_settings.Seed, -1, 0), _settings, CancellationToken.None);
            }

            var onnx = LmuOnnxExporter.Export(bestNetwork!.ToSpec(data.Steps), OnnxCarrier.MulticlassExportOptions(featuresColumnName, data.ClassNames));
            ITransformer model = OnnxCarrier.CreateMulticlass(_ml, onnx, train, [featuresColumnName], data.ClassNames);
            if (prefix is not null)
            {
                model = new TransformerChain<ITransformer>(prefix, model);
            }

            return new LmuExperimentResult(trials, best, model, data.ClassNames, searchTime, clock.Elapsed);
        }
        finally
        {
            bestNetwork?.Dispose();
        }
    }

    /// <summary>The search loop (one instance per Execute).</summary>
    private sealed class Search(LmuExperimentSettings settings, LmuExperimentData data, LmuExperimentData? validation)
    {
        private readonly List<LmuTrialResult> _trials = [];
        private LmuTrialResult? _best;
        private LmuNetwork? _bestNetwork;

        /// <summary>A seed from the experiment seed, the configuration and the rung, independent of timing.</summary>
        public static int TrainingSeed(int seed, int configuration, int rung) =>
            unchecked((seed * 1_000_003) + ((configuration + 1) * 7919) + (rung * 104_729));

        public (IReadOnlyList<LmuTrialResult> Trials, LmuTrialResult Best, LmuNetwork? Network) Run()
        {
            var s = settings;
            using var budget = CancellationTokenSource.CreateLinkedTokenSource(s.CancellationToken);
            budget.CancelAfter(TimeSpan.FromSeconds(s.MaxExperimentTimeInSeconds));
            var splits = Splits();
            var rng = new Random(s.Seed);
            var bracketSize = (int)Math.Pow(s.HalvingRate, s.Rungs - 1);
            var sampled = 0;
            while (!budget.IsCancellationRequested && (s.MaxConfigurations == 0 || sampled < s.MaxConfigurations))
            {
                var n = s.MaxConfigurations == 0 ? bracketSize : Math.Min(bracketSize, s.MaxConfigurations - sampled);
                var alive = Enumerable.Range(sampled, n).Select(id => (Id: id, Config: s.SearchSpace.Sample(rng, data.Steps))).ToList();
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
                        var result = RunTrial(id, config, rung, epochs, splits, budget.Token);
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
                _bestNetwork?.Dispose();
                s.CancellationToken.ThrowIfCancellationRequested();
                var failures = string.Join("; ", _trials.Where(t => t.Error is not null).Take(5).Select(t => $"trial {t.TrialId}: {t.Error}"));
                throw new InvalidOperationException(
                    $"LMU experiment: no trial completed within {s.MaxExperimentTimeInSeconds} s ({_trials.Count} started). {failures}");
            }

            return (_trials, _best, _bestNetwork);
        }

        private LmuTrialResult RunTrial(int configId, LmuTrialConfiguration config, int rung, int epochs, IReadOnlyList<(int[] Train, int[] Valid)> splits, CancellationToken ct)
        {
            var clock = Stopwatch.StartNew();
            var trialId = _trials.Count;
            LmuTrialResult result;
            LmuNetwork? kept = null;
            try
            {
                settings.BeforeTrial?.Invoke(config);
                var metrics = new List<double>();
                for (var f = 0; f < splits.Count; f++)
                {
                    var network = LmuTrialRunner.Train(data, splits[f].Train, config, epochs, TrainingSeed(settings.Seed, configId, rung) + f, settings, ct);
                    metrics.Add(validation is null
                        ? LmuTrialRunner.Score(network, data, splits[f].Valid, settings.OptimizingMetric)
                        : LmuTrialRunner.Score(network, validation, Enumerable.Range(0, validation.Count).ToArray(), settings.OptimizingMetric));
                    // The first fold's network stands for the trial when there is no refit.
                    if (f == 0)
                    {
                        kept = network;
                    }
                    else
                    {
                        network.Dispose();
                    }
                }

                result = new LmuTrialResult(trialId, config, rung, epochs, LmuTrialStatus.Completed, metrics.Average(), clock.Elapsed, null);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                kept?.Dispose();
                kept = null;
                result = new LmuTrialResult(trialId, config, rung, epochs, LmuTrialStatus.StoppedByBudget, null, clock.Elapsed, null);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                kept?.Dispose();
                kept = null;
                result = new LmuTrialResult(trialId, config, rung, epochs, LmuTrialStatus.Failed, null, clock.Elapsed, $"{e.GetType().Name}: {e.Message}");
            }

            _trials.Add(result);
            if (result.Metric is double metric && IsNewBest(result, metric))
            {
                _best = result;
                _bestNetwork?.Dispose();
                _bestNetwork = kept;
            }
            else
            {
                kept?.Dispose();
            }

            settings.Progress?.Report(result);
            return result;
        }

        // Higher rungs trained longer, so they win over lower ones; within a rung the metric decides, ties keep the earlier trial.
        private bool IsNewBest(LmuTrialResult r, double metric) =>
            _best is null || r.Rung > _best.Rung || (r.Rung == _best.Rung && LmuTrialRunner.Better(metric, _best.Metric!.Value, settings.OptimizingMetric));

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
