using System.Diagnostics;
using System.Globalization;
using Lmu.MLNet.Classification;
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
/// <para>Selection: trial 0 is the fixed pooled + ridge default (<see cref="LmuPooledRidgeConfiguration.Default"/>),
/// evaluated on every repeat of the stratified folds (<see cref="LmuExperimentSettings.CrossValidationRepeats"/>); the
/// search runs on the first repeat; the best few fully trained trials (<see cref="LmuExperimentSettings.Finalists"/>)
/// are re-run on the other repeats, and the best of them replaces the default only when its mean paired improvement
/// over the same folds exceeds <see cref="LmuExperimentSettings.SelectionStandardErrors"/> overlap-corrected standard
/// errors. Without a default, the best finalist wins (or, when none finished, the best trial among the most fully
/// trained: a pooled trial counts as fully trained; ties keep the earlier trial). See the README's experiment section.</para>
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
    /// <param name="labelColumnName">
    /// Label column (text, or a key with text values). A row with a missing label (empty text, or the missing key) is
    /// left out, as <see cref="LmuClassifierEstimator"/> leaves it out. Default "Label".
    /// </param>
    /// <param name="featuresColumnName">
    /// Fixed-size Vector&lt;Single&gt; of steps x channels, laid out as <paramref name="inputLayout"/> says. Default "Features".
    /// </param>
    /// <param name="channels">Values per step. Default 1.</param>
    /// <param name="preprocessing">
    /// Optional estimators run before the model (fit once on <paramref name="trainData"/>); they must leave
    /// <paramref name="featuresColumnName"/> a fixed-size Vector&lt;Single&gt; of steps x channels. Default none.
    /// </param>
    /// <param name="inputLayout">
    /// How <paramref name="featuresColumnName"/> lays out several channels: <see cref="LmuInputLayout.StepMajor"/> (each
    /// step's channels side by side) or <see cref="LmuInputLayout.ChannelMajor"/> (each channel's steps one after
    /// another, as <c>Concatenate</c> of one column per channel makes). Both families train on the same rows either
    /// way, and the returned model reads the column as it is. With one channel the two are the same. Default
    /// <see cref="LmuInputLayout.StepMajor"/>.
    /// </param>
    /// <exception cref="ArgumentException">
    /// A column is missing or of the wrong type, no row has a label, a split of the training data leaves fewer than two
    /// classes to train on (too few rows per class for the folds), <paramref name="inputLayout"/> is not a declared value, or no family can
    /// run (the pooled family alone, on more rows than its <see cref="LmuPooledRidgeSearchSpace.MaxTrainingRows"/>);
    /// before any training.
    /// </exception>
    /// <exception cref="InvalidOperationException">No trial completed (the message lists the failures).</exception>
    /// <exception cref="OperationCanceledException">Cancelled before any trial completed.</exception>
    public LmuExperimentResult Execute(
        IDataView trainData,
        IDataView? validationData = null,
        string labelColumnName = "Label",
        string featuresColumnName = "Features",
        int channels = 1,
        IEstimator<ITransformer>? preprocessing = null,
        LmuInputLayout inputLayout = LmuInputLayout.StepMajor)
    {
        ArgumentNullException.ThrowIfNull(trainData);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        // Again here: the settings object stays the caller's, and one changed after the constructor failed in .NET's
        // words (a negative budget as 'delay', a null SearchSpace as a NullReferenceException; found by QA). The run
        // reads a copy taken now: a change while it runs reached the trials still to come (QA).
        var settings = _settings.Clone();
        settings.Validate();
        // MLContext.CancelExecution (AutoML's stop) was not observed: the search ran its whole budget, then ML.NET's own
        // transforms threw on the cancelled context and the result was lost (found in review). It stops the trials as
        // the token does, and Execute then throws, since the context runs no more ML.NET transforms.
        var contextOnly = MLContextBridge.CancellationOf(_ml);
        if (contextOnly())
        {
            throw new OperationCanceledException("LMU experiment: the MLContext was cancelled (MLContext.CancelExecution) before Execute; nothing was trained.");
        }

        // The caller's abort stops what the context's cancellation stops, the refit included (CancelExecution is internal
        // to ML.NET, so users had no way to stop a refit; QA).
        var abort = settings.AbortToken;
        if (abort.IsCancellationRequested)
        {
            throw new OperationCanceledException("LMU experiment: aborted (LmuExperimentSettings.AbortToken) before Execute; nothing was trained.", abort);
        }

        bool contextCanceled() => contextOnly() || abort.IsCancellationRequested;

        if (!Enum.IsDefined(inputLayout))
        {
            throw new ArgumentException($"LMU experiment: inputLayout must be StepMajor or ChannelMajor but was {(int)inputLayout}.", nameof(inputLayout));
        }

        OnnxCarrier.RefuseSkippedNames("LMU experiment", ("features", featuresColumnName));
        var channelMajor = inputLayout == LmuInputLayout.ChannelMajor && channels > 1;
        var prefix = preprocessing?.Fit(trainData);
        try
        {
            return Run(prefix, settings, contextCanceled, trainData, validationData, labelColumnName, featuresColumnName, channels, channelMajor);
        }
        catch
        {
            // The fitted preprocessing belongs to the returned model; when none is returned its temp files waited for a
            // finalizer (review).
            (prefix as IDisposable)?.Dispose();
            throw;
        }
    }

    private LmuExperimentResult Run(
        ITransformer? prefix, LmuExperimentSettings settings, Func<bool> contextCanceled, IDataView trainData, IDataView? validationData,
        string labelColumnName, string featuresColumnName, int channels, bool channelMajor)
    {
        var train = prefix?.Transform(trainData) ?? trainData;
        var data = LmuExperimentData.Read(train, labelColumnName, featuresColumnName, channels, null, "training", channelMajor);
        var validation = validationData is null
            ? null
            : LmuExperimentData.Read(prefix?.Transform(validationData) ?? validationData, labelColumnName, featuresColumnName, channels, data.ClassNames, "validation", channelMajor);
        if (validation is not null && validation.Count == 0)
        {
            // Accepted before: every trial scored NaN and a model was chosen on that (found by QA).
            throw new ArgumentException("LMU experiment: the validation data has no rows; pass rows to score the trials on, or null to validate on the training data.", nameof(validationData));
        }

        if (validation is not null && validation.Steps != data.Steps)
        {
            // Accepted before: every trial failed inside its scoring and the experiment blamed its budget (found by QA).
            throw new ArgumentException(
                $"LMU experiment: features column '{featuresColumnName}' has {validation.Steps * channels} values per row in the validation data " +
                $"but {data.Steps * channels} in the training data ({data.Steps} steps x {channels} channels); both must have the same size.",
                nameof(validationData));
        }

        if (validation is null && settings.CrossValidationFolds > data.Count)
        {
            // Accepted before: the first trial spent the budget and the default, never scored, was returned (found by QA).
            throw new ArgumentException(
                $"LMU experiment: LmuExperimentSettings.CrossValidationFolds = {settings.CrossValidationFolds} is more than the {data.Count} training rows; every fold needs at least one row to score.");
        }

        var space = settings.SearchSpace;
        if (!space.Includes(LmuModelFamily.LmuNetwork) && !LmuExperimentSearch.PooledRuns(space, data))
        {
            throw new ArgumentException(
                $"LMU experiment: no model family can run. LmuSearchSpace.Families holds only PooledRidge, which is left out above " +
                $"LmuSearchSpace.PooledRidge.MaxTrainingRows = {space.PooledRidge.MaxTrainingRows} rows, and the training data has {data.Count}.");
        }

        // Before any trial: a native library that cannot load, or a CUDA device that cannot serve, fails once with its
        // cause, not as every trial's failure. The MLContext's GpuDeviceId was ignored before (found by QA).
        var device = space.Includes(LmuModelFamily.LmuNetwork)
            ? MLContextBridge.FromContext(_ml, nameof(LmuClassificationExperiment)).ResolveDevice(settings.Device, "LmuExperimentSettings.Device")
            : "cpu";
        var callerToken = settings.CancellationToken;
        using var callerOrAbort = CancellationTokenSource.CreateLinkedTokenSource(callerToken, settings.AbortToken);
        using var cancellation = new ContextCancellation(contextCanceled, callerOrAbort.Token);
        settings.CancellationToken = cancellation.Token;
        var context = new LmuFitContext(settings, featuresColumnName, labelColumnName == featuresColumnName ? labelColumnName + ".key" : labelColumnName,
            UniqueName("LmuPooledFeatures", train.Schema, featuresColumnName, labelColumnName), channelMajor, device, _ml.TempFilePath);
        var search = new LmuExperimentSearch(settings, data, validation, context);
        var clock = Stopwatch.StartNew();
        (IReadOnlyList<LmuTrialResult> Trials, LmuTrialResult Best, LmuExperimentSelection Selection, LmuCandidateFit? Fit) found;
        try
        {
            found = search.Run();
        }
        catch (OperationCanceledException e) when (contextCanceled())
        {
            // Before any trial completed: the search's own message named no cause (review).
            throw ContextCanceled(settings, "before any trial completed", e);
        }
        catch (OperationCanceledException e) when (callerToken.IsCancellationRequested)
        {
            // It was "The operation was canceled." alone (QA).
            throw new OperationCanceledException(
                "LMU experiment: cancelled (LmuExperimentSettings.CancellationToken) before any trial completed; no configuration was measured, so no model is returned.", e, callerToken);
        }

        var (trials, best, selection, bestFit) = found;
        var searchTime = clock.Elapsed;
        clock.Restart();
        // The refit is not interrupted by the caller's token (it makes the model returned), but a cancelled context can
        // never return a model: it stops the refit too (review: it ran to its end, then ML.NET's transforms threw).
        using var refitCancellation = new ContextCancellation(contextCanceled, settings.AbortToken);
        try
        {
            if (contextCanceled())
            {
                throw ContextCanceled(settings, $"after {trials.Count} trials", null);
            }

            // No kept model: the default, chosen without a completed evaluation when the budget ran out first.
            if ((validation is null && settings.RefitOnAllData) || bestFit is null)
            {
                if (settings.CancellationToken.IsCancellationRequested)
                {
                    // The refit is not interruptible (it makes the model returned); say why the call goes on (found by QA).
                    MLContextBridge.FromContext(_ml, nameof(LmuClassificationExperiment)).Info("Experiment",
                        $"Cancelled after {trials.Count} trials: refitting the best configuration (trial {best.TrialId}) on all {data.Count} training rows " +
                        $"before returning: one fit, where its trial ({best.FoldMetrics.Count} fold fits) took {best.Duration.TotalSeconds:F1} s. " +
                        "With RefitOnAllData = false the best trial's own model is returned at once.");
                }

                if (best.Status == LmuTrialStatus.StoppedByBudget)
                {
                    // The refit is outside the budget, and nothing measured its cost: a user saw Execute run on for
                    // minutes past a 30 s budget with no word of why (QA).
                    MLContextBridge.FromContext(_ml, nameof(LmuClassificationExperiment)).Info("Experiment", string.Create(CultureInfo.InvariantCulture,
                        $"The {settings.MaxExperimentTimeInSeconds} s budget ran out before the default configuration (trial {best.TrialId}) finished a fold fit ({best.Duration.TotalSeconds:F1} s): it is the model, now fitted on all {data.Count} training rows, outside the budget. That fit may take longer than the budget; a larger MaxExperimentTimeInSeconds measures it first, and LmuExperimentSettings.AbortToken stops it."));
                }

                bestFit?.Dispose();
                bestFit = null;
                bestFit = LmuCandidateFit.Fit(best.Configuration, data, Enumerable.Range(0, data.Count).ToArray(), null,
                    LmuExperimentSearch.TrainingSeed(settings.Seed, -1, 0), context, refitCancellation.Token);
            }

            var model = bestFit!.TakeModel(_ml, train);
            try
            {
                model = LabelValuesInAndOut(prefix, model, train, labelColumnName, data.ClassNames);
            }
            catch
            {
                // The model taken from the fit owns its carried graph's temp file: it was left to a finalizer (review).
                (model as IDisposable)?.Dispose();
                throw;
            }

            return new LmuExperimentResult(trials, best, selection, model, data.ClassNames, searchTime, clock.Elapsed);
        }
        catch (OperationCanceledException e) when (contextCanceled() && !e.Message.StartsWith("LMU experiment:", StringComparison.Ordinal))
        {
            // The refit, or ML.NET's own transforms around the model, stopped on the context.
            throw ContextCanceled(settings, $"after {trials.Count} trials, while the best configuration was refitted or assembled", e);
        }
        finally
        {
            bestFit?.Dispose();
        }
    }

    private static OperationCanceledException ContextCanceled(LmuExperimentSettings settings, string when, Exception? inner) => settings.AbortToken.IsCancellationRequested
        ? new($"LMU experiment: aborted (LmuExperimentSettings.AbortToken) {when}; no model is returned.", inner, settings.AbortToken)
        : new($"LMU experiment: cancelled through its MLContext (MLContext.CancelExecution) {when}; no model is returned, since the context runs no more ML.NET transforms.", inner);

    /// <summary>
    /// AutoML's shape for the best model: the preprocessing, then a text label mapped to keys inside the model (in
    /// <paramref name="classNames"/> order, so slot k of Score is class k), and PredictedLabel mapped back to the label's
    /// values at the end, so <c>mlContext.MulticlassClassification.Evaluate(model.Transform(rawData))</c> works on the
    /// raw training schema and predictions read as the user's labels. A label that is a key after the preprocessing is
    /// kept as it is (its values are already the classes). Why after: a preprocessing that keys the label
    /// (<c>MapValueToKey("Label")</c>, which the refusal of a Boolean label advises) was given the key this mapping had
    /// made from the raw label, and the experiment failed once its whole search was done (types QA).
    /// </summary>
    /// <param name="prefix">The fitted preprocessing, or null.</param>
    /// <param name="model">The fitted model, reading <paramref name="train"/>.</param>
    /// <param name="train">The training data after the preprocessing.</param>
    /// <param name="labelColumnName">The label column of <paramref name="train"/>.</param>
    /// <param name="classNames">The classes, in the order of the model's scores.</param>
    private ITransformer LabelValuesInAndOut(ITransformer? prefix, ITransformer model, IDataView train, string labelColumnName, IReadOnlyList<string> classNames)
    {
        var parts = new List<ITransformer>();
        if (prefix is not null)
        {
            parts.Add(prefix);
        }

        var input = train;
        if (train.Schema[labelColumnName].Type is not KeyDataViewType)
        {
            var keys = _ml.Data.LoadFromEnumerable(classNames.Select(n => new ScalarText { Value = n }));
            var toKey = _ml.Transforms.Conversion.MapValueToKey(labelColumnName, keyData: keys).Fit(train);
            parts.Add(toKey);
            input = toKey.Transform(train);
        }

        parts.Add(model);
        var scored = model.Transform(input);
        parts.Add(_ml.Transforms.Conversion.MapKeyToValue("PredictedLabel").Fit(scored));
        return new TransformerChain<ITransformer>(parts.ToArray());
    }

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
}
