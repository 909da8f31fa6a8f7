using System.Diagnostics;
using Lmu.MLNet.Classification;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Classification;

/// <summary>The estimator learns a memory task through ML.NET's API, governed by the MLContext.</summary>
[TestClass]
public sealed class ClassifierTrainingTests : ClassifierTestBase
{
    [TestMethod]
    public void TextLabelsAreClassesAsWrittenAsMLNetKeysThem()
    {
        // Found by QA: labels were trimmed, so " a" became class "a", and MapKeyToValue answered "a" for rows labelled
        // " a" (none matched). Only the empty text is missing, as for ML.NET's MapValueToKey.
        var ml = ClassifierSetup.Context(MlTemp);
        var names = new Dictionary<string, string> { [DelayedPatternData.Classes[0]] = " a", [DelayedPatternData.Classes[1]] = "a", [DelayedPatternData.Classes[2]] = "\t" };
        var rows = DelayedPatternData.Rows(30, 3).Select(r => new PatternRow { Label = names[r.Label], Features = r.Features }).ToList();
        rows.Add(new PatternRow { Label = string.Empty, Features = rows[0].Features });
        using var model = ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 1)).Fit(ml.Data.LoadFromEnumerable(rows));
        CollectionAssert.AreEquivalent(new[] { " a", "a", "\t" }, model.Info.ClassNames.ToArray());
        Assert.AreEqual(30L, model.Info.TrainingRows, "the empty label is missing, its row left out");
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(rows));
        var mlNames = default(Microsoft.ML.Data.VBuffer<ReadOnlyMemory<char>>);
        keyed.GetOutputSchema(ml.Data.LoadFromEnumerable(rows).Schema)["Label"].GetKeyValues(ref mlNames);
        CollectionAssert.AreEquivalent(mlNames.DenseValues().Select(v => v.ToString()).ToArray(), model.Info.ClassNames.ToArray(), "ML.NET's own keys");
    }

    [TestMethod]
    public void LearnsTheDelayedPatternTaskThroughTheTrainersCatalog()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var log = new List<string>();
        ml.Log += (_, e) =>
        {
            if (e.Source.StartsWith("LmuClassifier", StringComparison.Ordinal)) lock (log) log.Add(e.Message);
        };
        var (train, map) = ClassifierSetup.Keyed(ml, ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(450, 1)));
        var test = map.Transform(ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(150, 2)));
        var options = ClassifierSetup.Parallel();
        var clock = Stopwatch.StartNew();
        using var model = ml.MulticlassClassification.Trainers.Lmu(options).Fit(train);
        var seconds = clock.Elapsed.TotalSeconds;

        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(test));
        // Chance is 1/3; a network without memory of steps 0-10 cannot beat it. 0.9 leaves room for seed variation.
        Assert.IsGreaterThanOrEqualTo(0.9, metrics.MicroAccuracy, $"held-out accuracy {metrics.MicroAccuracy:P1} after {seconds:F1} s");
        Assert.HasCount(options.Training.Epochs, model.Info.History);
        Bound.Below(model.Info.History[0].TrainLoss, model.Info.History[^1].TrainLoss);
        CollectionAssert.AreEqual(DelayedPatternData.Classes, model.Info.ClassNames.ToArray(), "a key label keeps its key order");
        Assert.AreEqual(DelayedPatternData.Steps, model.Info.SequenceLength);
        Assert.AreEqual(450L, model.Info.TrainingRows);
        Assert.AreEqual("cpu", model.Info.Device);

        // Parameter count of the architecture: E_x 1x1, Dense cell 12->16, head 16->16->3.
        Assert.AreEqual(1 + (12 * 16) + 16 + (16 * 16) + 16 + (16 * 3) + 3, model.Info.ParameterCount);
        lock (log)
        {
            Assert.IsTrue(log.Any(m => m.Contains($"epoch 1/{options.Training.Epochs}: train loss", StringComparison.Ordinal)), "per-epoch progress in MLContext.Log:\n" + string.Join("\n", log));
            Assert.IsTrue(log.Any(m => m.Contains("acc ", StringComparison.Ordinal) && m.Contains("elapsed", StringComparison.Ordinal)), "accuracy and time are logged");
        }

        model.Dispose();
        AssertNoTempFiles();
    }

    /// <summary>The warnings the classifier writes to the context's Log while it fits <paramref name="rows"/>.</summary>
    private List<string> FitWarnings(LmuClassifierOptions options, IEnumerable<PatternRow> rows)
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var warnings = new List<string>();
        ml.Log += (_, e) =>
        {
            if (e.Source.StartsWith("LmuClassifier", StringComparison.Ordinal) && e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Warning)
                lock (warnings) warnings.Add(e.Message);
        };
        using var model = ml.Transforms.LmuClassifier(options).Fit(ml.Data.LoadFromEnumerable(rows));
        lock (warnings) return [.. warnings];
    }

    [TestMethod]
    public void AThetaFarBeyondTheRowIsWarnedOfInTheLog()
    {
        // QA: theta 1e30 trained at chance without a word (the memory moves by steps/theta over a row).
        List<string> Warnings(double theta)
        {
            var options = ClassifierSetup.Parallel(epochs: 1);
            options.ThetaFromSequenceLength = false;
            options.Layer.Theta = theta;
            return FitWarnings(options, DelayedPatternData.Rows(40, 4));
        }

        var steps = DelayedPatternData.Steps;
        var far = Warnings(1e30);
        Assert.IsTrue(far.Any(m => m.Contains($"LmuClassifierOptions.Layer: Theta 1E+30 is", StringComparison.Ordinal) && m.Contains($"times the {steps} steps of a row", StringComparison.Ordinal)), "warned:\n" + string.Join("\n", far));
        var near = Warnings(EstimatorTraining.LongThetaRatio * steps);
        Assert.IsFalse(near.Any(m => m.Contains("steps of a row", StringComparison.Ordinal)), "the ratio itself is not warned of:\n" + string.Join("\n", near));
    }

    [TestMethod]
    public void ARunOfFewGradientStepsIsWarnedOfInTheLog()
    {
        List<string> Warnings(int rows, int epochs, int batch)
        {
            var options = ClassifierSetup.Parallel(epochs);
            options.Training.BatchSize = batch;
            return FitWarnings(options, DelayedPatternData.Rows(rows, 4));
        }

        // 40 rows in batches of 16: 3 batches an epoch, 2 epochs, 6 steps.
        var few = Warnings(40, 2, 16);
        Assert.IsTrue(few.Any(m => m.Contains("only 6 gradient steps (2 epochs of 3 batches", StringComparison.Ordinal)), "warned:\n" + string.Join("\n", few));
        // 40 rows in batches of 4: 10 batches an epoch, 50 epochs, 500 steps: the threshold, no warning.
        var enough = Warnings(40, (int)(LmuClassifierEstimator.FewGradientSteps / 10), 4);
        Assert.IsFalse(enough.Any(m => m.Contains("gradient steps", StringComparison.Ordinal)), "not warned:\n" + string.Join("\n", enough));
    }

    [TestMethod]
    public void InputsFarFromUnitScaleAreWarnedOfInTheLog()
    {
        // QA: rows of magnitude 1e20 trained a memory-only network whose loss never moved, silently.
        List<string> Warnings(float scale) => FitWarnings(
            ClassifierSetup.Parallel(1),
            DelayedPatternData.Rows(40, 4).Select(r => new PatternRow { Label = r.Label, Features = r.Features.Select(v => v * scale).ToArray() }));

        var largest = DelayedPatternData.Rows(40, 4).SelectMany(r => r.Features).Max(MathF.Abs);
        var scale = 2 * LmuClassifierEstimator.LargeInput / largest;
        var far = Warnings(scale);
        Assert.IsTrue(far.Any(m => m.Contains("Features column 'Features' holds values up to ", StringComparison.Ordinal) && m.Contains("NormalizeMeanVariance", StringComparison.Ordinal)),
            "warned:\n" + string.Join("\n", far));
        var near = Warnings(0.5f * LmuClassifierEstimator.LargeInput / largest);
        Assert.IsFalse(near.Any(m => m.Contains("holds values up to", StringComparison.Ordinal)), "not warned:\n" + string.Join("\n", near));
    }

    [TestMethod]
    public void OutputNamesThatCollideAreRefusedBeforeTraining()
    {
        // QA: Score named after the features failed only after training, inside ONNX Runtime; Score named after the
        // predicted label hid one output silently.
        void Refused(Action<LmuClassifierOptions> change, string message)
        {
            var options = ClassifierSetup.Parallel(1);
            change(options);
            var e = Assert.ThrowsExactly<ArgumentException>(() => ClassifierSetup.Context(MlTemp).Transforms.LmuClassifier(options));
            StringAssert.Contains(e.Message, message);
        }

        Refused(o => o.ScoreColumnName = "Features", "ScoreColumnName = Features must differ from the columns the model reads (FeatureColumnName 'Features')");
        Refused(o => o.PredictedLabelColumnName = "Score", "ScoreColumnName = Score must differ from PredictedLabelColumnName ('Score')");
        Refused(o => { o.LengthColumnName = "N"; o.ScoreColumnName = "N"; }, "ScoreColumnName = N must differ from the columns the model reads (FeatureColumnName 'Features', LengthColumnName 'N')");
        // QA: a predicted label named as the label hid it, and Evaluate reported accuracy 1.000 for 0.350.
        Refused(o => o.PredictedLabelColumnName = "Label", "LabelColumnName = Label must differ from ScoreColumnName and PredictedLabelColumnName");
        Refused(o => o.ScoreColumnName = "Label", "LabelColumnName = Label must differ from ScoreColumnName and PredictedLabelColumnName");
    }

    [TestMethod]
    public void TheMLContextSeedDecidesTheModel()
    {
        float[][] Scores(int contextSeed)
        {
            var ml = ClassifierSetup.Context(MlTemp, contextSeed);
            var data = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(96, 3));
            using var model = ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 2, seed: null)).Fit(data);
            return model.Transform(data).GetColumn<float[]>("Score").ToArray();
        }

        var a = Scores(5);
        var b = Scores(5);
        var c = Scores(6);
        for (var i = 0; i < a.Length; i++)
        {
            CollectionAssert.AreEqual(a[i], b[i], $"row {i}: the same MLContext seed must give bit-identical scores");
        }

        Assert.IsTrue(a.Zip(c).Any(p => !p.First.SequenceEqual(p.Second)), "a different MLContext seed should give a different model");
    }

    [TestMethod]
    public void TextLabelsBecomeSortedClassesWithNativeOutputs()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var data = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(96, 4));
        using var model = ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 1)).Fit(data);
        string[] sorted = ["bump", "down", "up"];
        CollectionAssert.AreEqual(sorted, model.Info.ClassNames.ToArray());

        var schema = model.Transform(data).Schema;
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Single, 3), schema["Score"].Type);
        VBuffer<ReadOnlyMemory<char>> names = default;
        schema["Score"].GetSlotNames(ref names);
        CollectionAssert.AreEqual(sorted, names.DenseValues().Select(n => n.ToString()).ToArray());
        var key = (KeyDataViewType)schema["PredictedLabel"].Type;
        Assert.AreEqual(3UL, key.Count);
        schema["PredictedLabel"].GetKeyValues(ref names);
        CollectionAssert.AreEqual(sorted, names.DenseValues().Select(n => n.ToString()).ToArray());

        // The estimator's declared output schema agrees with what Fit produced.
        var shape = ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 1)).GetOutputSchema(Lmu.MLNet.SchemaShapes.FromSchema(data.Schema));
        var score = shape.Single(c => c.Name == "Score");
        Assert.AreEqual(SchemaShape.Column.VectorKind.Vector, score.Kind);
        var predicted = shape.Single(c => c.Name == "PredictedLabel");
        Assert.IsTrue(predicted.IsKey);
        model.Dispose();
        AssertNoTempFiles();
    }

    [TestMethod]
    public void CancellingFromTheProgressCallbackStopsWithinABatchAndReturnsNoModel()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var data = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(96, 5));
        using var cts = new CancellationTokenSource();
        var epochs = new List<int>();
        var options = ClassifierSetup.Parallel(epochs: 50);
        options.CancellationToken = cts.Token;
        options.Progress = new Inline(r =>
        {
            epochs.Add(r.Epoch);
            cts.Cancel();
        });
        LmuClassifierTransformer? model = null;
        Assert.ThrowsExactly<OperationCanceledException>(() => model = ml.Transforms.LmuClassifier(options).Fit(data));
        Assert.IsNull(model);
        CollectionAssert.AreEqual(new[] { 1 }, epochs, "training must stop within one batch of the cancellation");
        AssertNoTempFiles();

        // Cancelled before Fit: refused before the device is resolved (a CUDA request would fail there; concurrency QA).
        options.Training.Device = "cuda:7";
        Assert.ThrowsExactly<OperationCanceledException>(() => ml.Transforms.LmuClassifier(options).Fit(data));

        // Cancelled at the last epoch's report: the export after training returned a model (concurrency QA).
        using var late = new CancellationTokenSource();
        options = ClassifierSetup.Parallel(epochs: 1);
        options.CancellationToken = late.Token;
        options.Progress = new Inline(_ => late.Cancel());
        Assert.ThrowsExactly<OperationCanceledException>(() => model = ml.Transforms.LmuClassifier(options).Fit(data));
        Assert.IsNull(model);
        AssertNoTempFiles();
    }

    [TestMethod]
    public void MLNetsOwnCancellationStopsTraining()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var data = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(96, 5));
        // MLContext.CancelExecution is ML.NET's (internal) cancellation, used by AutoML; call it as AutoML would.
        var cancel = typeof(MLContext).GetMethod("CancelExecution", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic);
        Assert.IsNotNull(cancel, "ML.NET renamed CancelExecution");
        var epochs = new List<int>();
        var options = ClassifierSetup.Parallel(epochs: 50);
        options.Progress = new Inline(r =>
        {
            epochs.Add(r.Epoch);
            cancel.Invoke(ml, null);
        });
        var e = Assert.ThrowsExactly<OperationCanceledException>(() => ml.Transforms.LmuClassifier(options).Fit(data));
        Assert.AreEqual("LmuClassifier: Fit was cancelled through its MLContext (MLContext.CancelExecution).", e.Message);
        CollectionAssert.AreEqual(new[] { 1 }, epochs);
    }

    [TestMethod]
    public void AskingForAnAbsentGpuFailsClearlyOrFallsBackToTheCpu()
    {
        if (TorchSharp.torch.cuda.is_available())
        {
            Assert.Inconclusive("CUDA is available here, so the absent-GPU path cannot be exercised.");
        }

        var ml = ClassifierSetup.Context(MlTemp);
        ml.GpuDeviceId = 0;
        ml.FallbackToCpu = false;
        var data = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(30, 6));
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 1)).Fit(data));
        StringAssert.Contains(e.Message, "GpuDeviceId = 0");
        StringAssert.Contains(e.Message, "FallbackToCpu");

        ml.FallbackToCpu = true;
        using var model = ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 1)).Fit(data);
        Assert.AreEqual("cpu", model.Info.Device);
    }

    [TestMethod]
    public void ValidationFractionReportsValidationMetricsAndEarlyStoppingKeepsTheBestEpoch()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var data = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(150, 7));
        var options = ClassifierSetup.Parallel(epochs: 6);
        options.ValidationFraction = 0.3;
        options.Training.EarlyStoppingPatience = 2;
        using var model = ml.Transforms.LmuClassifier(options).Fit(data);
        Assert.IsTrue(model.Info.History.All(r => r.ValidationLoss is not null && r.ValidationAccuracy is not null));
        var best = model.Info.History.MinBy(r => r.ValidationLoss!.Value)!;
        Assert.AreEqual(best.Epoch, model.Info.BestEpoch);
    }

    [TestMethod]
    public void InfoReportsEachLayersThetaWhereTrainingTookIt()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var data = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(60, 8));
        var options = new LmuClassifierOptions
        {
            Layers =
            [
                new LmuLayerOptions { Order = 12, Theta = 7, HiddenCell = HiddenCell.Dense, HiddenUnits = 16, TrainableTheta = true },
                new LmuLayerOptions { Order = 6, Theta = 5, HiddenCell = HiddenCell.Dense, HiddenUnits = 8, MemoryD = 2 },
            ],
            ThetaFromSequenceLength = false,
            Training = ClassifierSetup.Parallel(epochs: 3).Training,
        };
        var estimator = ml.Transforms.LmuClassifier(options);
        double[]? networkThetas = null;
        estimator.InspectTrainedNetwork = net => networkThetas = net.Layers.Select(l => l.Dynamics.Theta).ToArray();
        using var model = estimator.Fit(data);
        Assert.IsNotNull(networkThetas);
        CollectionAssert.AreEqual(networkThetas, model.Info.LayerThetas.ToArray(), "Info vs the trained network");
        Assert.AreNotEqual(7.0, model.Info.LayerThetas[0], "the learned theta did not move: the test cannot tell a copy of the option from the learned value");
        Assert.AreEqual(5.0, model.Info.LayerThetas[1], "the fixed layer's theta");
    }

    [TestMethod]
    public void VariableLengthRowsTrainLeftPaddedAndScoreLeftPadded()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        // Rows of 18-24 steps: cut from the front so the pattern (steps 0-11 of the full row) stays.
        var rows = DelayedPatternData.Rows(240, 8).Select((r, i) => new VarPatternRow { Label = r.Label, Features = r.Features[..(18 + (i % 7))] }).ToList();
        using var model = ml.Transforms.LmuClassifier(ClassifierSetup.Parallel()).Fit(ml.Data.LoadFromEnumerable(rows));
        Assert.AreEqual(24, model.Info.SequenceLength, "the longest row sets the length");

        // Transform reads the VarVector rows left-padded, as training did (it refused them, so every pipeline that went
        // on after the classifier failed after training; found by QA): the same scores as the rows padded by hand.
        var padded = rows.Select(r => new PatternRow { Label = r.Label, Features = new float[24 - r.Features.Length].Concat(r.Features).ToArray() }).ToList();
        var fromVar = model.Transform(ml.Data.LoadFromEnumerable(rows)).GetColumn<float[]>("Score").ToArray();
        var fromFixed = model.Transform(ml.Data.LoadFromEnumerable(padded)).GetColumn<float[]>("Score").ToArray();
        for (var i = 0; i < rows.Count; i++)
        {
            CollectionAssert.AreEqual(fromFixed[i], fromVar[i], $"row {i}");
        }

        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Single, 24), model.GetOutputSchema(ml.Data.LoadFromEnumerable(rows).Schema)["Features"].Type);
        // The estimator's shape says the same: a known-size vector (it reported the input's VarVector, found by review).
        var shape = ml.Transforms.LmuClassifier(ClassifierSetup.Parallel()).GetOutputSchema(Lmu.MLNet.SchemaShapes.FromSchema(ml.Data.LoadFromEnumerable(rows).Schema));
        Assert.AreEqual(SchemaShape.Column.VectorKind.Vector, shape.Single(c => c.Name == "Features").Kind);

        // The zip holds only the carried graph, which takes the fixed size: saving with the VarVector schema is refused (found by review).
        var refused = Assert.ThrowsExactly<ArgumentException>(() => LmuModelFile.Save(ml, model, ml.Data.LoadFromEnumerable(rows).Schema, Path.Combine(Temp, "var.zip")));
        StringAssert.Contains(refused.Message, "features column 'Features' is a VarVector<Single>; the saved model scores fixed-size Vector<Single, 24> rows");
        Assert.IsFalse(File.Exists(Path.Combine(Temp, "var.zip")));

        // ML.NET's own Save takes that schema; the loaded model then names the column instead of failing on the first row
        // in ML.NET's words ("Index was out of range"; found by QA), and scores the rows padded by hand as the model does.
        var plain = Path.Combine(Temp, "plain.zip");
        ml.Model.Save(model, ml.Data.LoadFromEnumerable(rows).Schema, plain);
        using (var loaded = (IDisposable)LmuModelFile.Load(ml, plain, out _))
        {
            var varRefused = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ((ITransformer)loaded).Transform(ml.Data.LoadFromEnumerable(rows)));
            StringAssert.Contains(varRefused.Message, "Column 'Features' is a Vector<Single> of variable size; this loaded model scores fixed-size vectors");
            Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ((ITransformer)loaded).GetRowToRowMapper(ml.Data.LoadFromEnumerable(rows).Schema));
            // A vector of doubles: ML.NET said "expected Single, got Vector<Double, 24>", as if a scalar were wanted (types QA).
            var doubles = ml.Transforms.Conversion.ConvertType("Features", outputKind: Microsoft.ML.Data.DataKind.Double).Fit(ml.Data.LoadFromEnumerable(padded)).Transform(ml.Data.LoadFromEnumerable(padded));
            var typeRefused = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ((ITransformer)loaded).Transform(doubles));
            StringAssert.StartsWith(typeRefused.Message, "Column 'Features' has type Vector<Double, 24>; this loaded model reads Single values there (in the shape of the input schema saved with it): convert the column first, e.g. mlContext.Transforms.Conversion.ConvertType(\"Features\", outputKind: DataKind.Single).");
            Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ((ITransformer)loaded).GetOutputSchema(doubles.Schema));
            var reloaded = ((ITransformer)loaded).Transform(ml.Data.LoadFromEnumerable(padded)).GetColumn<float[]>("Score").ToArray();
            for (var i = 0; i < rows.Count; i++)
            {
                CollectionAssert.AreEqual(fromFixed[i], reloaded[i], $"row {i} from the zip");
            }
        }

        // A PredictionEngine's row type cannot be padded: it still needs the fixed length, and says so.
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Model.CreatePredictionEngine<VarPatternRow, PatternPrediction>(model));
        StringAssert.Contains(e.Message, "Features column 'Features' is a VarVector<Single>; scoring needs Vector<Single, 24>");

        // A row longer than the model's length is named (ML.NET wraps what its cursor workers throw, as it does for any
        // error found while rows are read).
        var longer = new[] { new VarPatternRow { Label = "x", Features = new float[30] } };
        Exception? tooLong = Assert.Throws<Exception>(() => model.Transform(ml.Data.LoadFromEnumerable(longer)).GetColumn<float[]>("Score").ToArray());
        while (tooLong is { InnerException: { } inner } && tooLong is not InvalidDataException) tooLong = inner;
        Assert.IsInstanceOfType<InvalidDataException>(tooLong);
        StringAssert.Contains(tooLong.Message, "Features column 'Features', row 0: 30 values; the model takes 1 to 24 steps");

        // An empty row, refused at Fit, is refused at Transform too (QA: it scored as all padding).
        var none = new[] { new VarPatternRow { Label = "x", Features = [] } };
        Exception? empty = Assert.Throws<Exception>(() => model.Transform(ml.Data.LoadFromEnumerable(none)).GetColumn<float[]>("Score").ToArray());
        while (empty is { InnerException: { } inner } && empty is not InvalidDataException) empty = inner;
        Assert.IsInstanceOfType<InvalidDataException>(empty);
        StringAssert.Contains(empty.Message, "Features column 'Features', row 0: 0 values; the model takes 1 to 24 steps");

        // The ML.NET pipeline QA ran: keys in, the classifier, keys back to labels, evaluated on the VarVector rows.
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.Lmu(ClassifierSetup.Parallel(2))).Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        var data = ml.Data.LoadFromEnumerable(rows);
        var chain = pipeline.Fit(data);
        Assert.IsGreaterThan(0.0, ml.MulticlassClassification.Evaluate(chain.Transform(data)).MicroAccuracy);
        (chain as IDisposable)?.Dispose();

        // Left-padded to 24 steps, as training saw them, the rows score through the fixed-size model.
        var test = DelayedPatternData.Rows(90, 9).Select((r, i) =>
        {
            var kept = r.Features[..(18 + (i % 7))];
            return new PatternRow { Label = r.Label, Features = new float[24 - kept.Length].Concat(kept).ToArray() };
        });
        var predicted = model.Transform(ml.Data.LoadFromEnumerable(test)).GetColumn<uint>("PredictedLabel").ToArray();
        var accuracy = predicted.Zip(DelayedPatternData.Rows(90, 9)).Count(p => model.Info.ClassNames[(int)p.First - 1] == p.Second.Label) / 90.0;
        Assert.IsGreaterThanOrEqualTo(0.9, accuracy);
    }

    [TestMethod]
    public void VariableLengthRowsWithALengthColumnScorePaddedAtTheEndAndTheirLengthIsChecked()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        // Rows of 16-24 steps whose first n steps are real: n = the row's own steps.
        var rows = DelayedPatternData.Rows(120, 8).Select((r, i) => new VarLengthPatternRow { Label = r.Label, Features = r.Features[..(16 + (i % 9))], Length = 16 + (i % 9) }).ToList();
        var options = ClassifierSetup.Parallel(2);
        options.LengthColumnName = "Length";
        using var model = ml.Transforms.LmuClassifier(options).Fit(ml.Data.LoadFromEnumerable(rows));
        Assert.AreEqual(24, model.Info.SequenceLength);

        var padded = rows.Select(r => new LengthPatternRow { Label = r.Label, Features = r.Features.Concat(new float[24 - r.Features.Length]).ToArray(), Length = r.Length }).ToList();
        var fromVar = model.Transform(ml.Data.LoadFromEnumerable(rows)).GetColumn<float[]>("Score").ToArray();
        var fromFixed = model.Transform(ml.Data.LoadFromEnumerable(padded)).GetColumn<float[]>("Score").ToArray();
        for (var i = 0; i < rows.Count; i++)
        {
            CollectionAssert.AreEqual(fromFixed[i], fromVar[i], $"row {i}: padded at the end, as training did");
        }

        // A length beyond the row's own steps would read the padding as steps; training refuses it, and so does scoring (found by review).
        var bad = new[] { new VarLengthPatternRow { Label = rows[0].Label, Features = rows[0].Features, Length = rows[0].Features.Length + 2 } };
        Exception? e = Assert.Throws<Exception>(() => model.Transform(ml.Data.LoadFromEnumerable(bad)).GetColumn<float[]>("Score").ToArray());
        while (e is { InnerException: { } inner } && e is not InvalidDataException) e = inner;
        Assert.IsInstanceOfType<InvalidDataException>(e);
        StringAssert.Contains(e.Message, $"Sequence-length column 'Length', row 0: length {rows[0].Features.Length + 2}; expected a whole number from 1 to {rows[0].Features.Length}");
    }
}
