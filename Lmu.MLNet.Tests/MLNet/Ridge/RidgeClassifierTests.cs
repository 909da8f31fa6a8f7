using Lmu.MLNet.Tests.MLNet.Featurize;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Ridge;

/// <summary>The ridge trainer in ML.NET pipelines, and LmuPooledFeaturize + ridge on a task that needs shift invariance.</summary>
[TestClass]
public sealed class RidgeClassifierTests
{
    [TestMethod]
    public void ScoresAreTheSoftmaxOfTheFittedDecisionAndTheZipReloads()
    {
        var ml = new MLContext(seed: 1);
        var rows = LinearRows(60, seed: 1);
        var data = Load(ml, rows);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.Ridge());
        var model = pipeline.Fit(data);
        var ridge = (RidgeClassifierTransformer)model.LastTransformer;
        CollectionAssert.AreEqual(new[] { "a", "b", "c" }, ridge.Classes.ToArray());
        var scored = model.Transform(data);
        var scores = scored.GetColumn<float[]>("Score").ToArray();
        for (var r = 0; r < rows.Count; r++)
        {
            // The float64 decision values through a softmax; float32 weights and inputs give ~1e-6 relative error.
            var logits = Enumerable.Range(0, 3).Select(c => ridge.Bias[c] + Enumerable.Range(0, 4).Sum(f => (rows[r].Features[f] - ridge.Means[f]) * ridge.Weights[f, c])).ToArray();
            var max = logits.Max();
            var exp = logits.Select(v => Math.Exp(v - max)).ToArray();
            for (var c = 0; c < 3; c++)
            {
                Assert.AreEqual(exp[c] / exp.Sum(), scores[r][c], 1e-5, $"row {r} class {c}");
            }
        }

        var metrics = ml.MulticlassClassification.Evaluate(scored);
        // Each class is separable from the rest with a margin, so a working fit separates the training rows.
        Assert.AreEqual(1.0, metrics.MicroAccuracy, "training accuracy");
        var slotNames = default(VBuffer<ReadOnlyMemory<char>>);
        scored.Schema["Score"].GetSlotNames(ref slotNames);
        CollectionAssert.AreEqual(new[] { "a", "b", "c" }, slotNames.DenseValues().Select(v => v.ToString()).ToArray());

        using var stream = new MemoryStream();
        ml.Model.Save(model, data.Schema, stream);
        stream.Position = 0;
        var ml2 = new MLContext(seed: 2);
        var loaded = ml2.Model.Load(stream, out _);
        var reloaded = loaded.Transform(Load(ml2, rows));
        CollectionAssert.AreEqual(scores.SelectMany(v => v).ToArray(), reloaded.GetColumn<float[]>("Score").SelectMany(v => v).ToArray(), "reloaded scores must be bit-identical");
        var engine = ml2.Model.CreatePredictionEngine<Row, Prediction>(loaded);
        // PredictedLabel is a key over the label's values: key k is class k-1 of a, b, c.
        Assert.AreEqual((uint)(Array.IndexOf(new[] { "a", "b", "c" }, rows[5].Label) + 1), engine.Predict(rows[5]).PredictedLabel);
    }

    [TestMethod]
    [DataRow(1e-13)]
    [DataRow(1e-30)]
    [DataRow(1e20)]
    public void FeaturesInSmallOrLargeUnitsFitAsInTheirOwnUnits(double scale)
    {
        // Standardising makes the fit independent of units; an absolute threshold for "constant" dropped every feature
        // at 1e-13 (found by QA: all scores equal).
        var ml = new MLContext(seed: 1);
        var rows = LinearRows(60, seed: 1);
        var scaled = rows.Select(r => new Row { Label = r.Label, Features = r.Features.Select(v => (float)(v * scale)).ToArray() }).ToList();
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.Ridge());
        var plain = pipeline.Fit(Load(ml, rows)).Transform(Load(ml, rows)).GetColumn<uint>("PredictedLabel").ToArray();
        var scaledData = Load(ml, scaled);
        var model = pipeline.Fit(scaledData);
        var predicted = model.Transform(scaledData).GetColumn<uint>("PredictedLabel").ToArray();
        CollectionAssert.AreEqual(plain, predicted);
        Assert.AreEqual(1.0, ml.MulticlassClassification.Evaluate(model.Transform(scaledData)).MicroAccuracy, "the classes are separable");
    }

    [TestMethod]
    public void DefaultPenaltiesAreTenLogSpacedFromAThousandthToAThousand()
    {
        // Documented (and Dempster et al.'s ROCKET grid): 10 values log-spaced from 1e-3 to 1e3, i.e. 10^(-3 + 2k/3).
        var alphas = new RidgeClassifierOptions().Alphas;
        Assert.HasCount(10, alphas);
        for (var k = 0; k < 10; k++)
        {
            Assert.AreEqual(Math.Pow(10, -3 + (2.0 * k / 3)), alphas[k], 1e-12 * alphas[k], $"alpha {k}");
        }
    }

    [TestMethod]
    public void PooledMemoriesWithRidgeFindAPatternWhereverItOccurs()
    {
        // Class "up" holds a short rising ramp, class "down" a falling one, at a random position in noise: a feature must
        // find the pattern wherever it is, which pooling over time gives.
        var ml = new MLContext(seed: 1);
        const int steps = 64;
        var train = FeaturizerData.Load(ml, Ramps(40, steps, seed: 1), steps);
        var test = FeaturizerData.Load(ml, Ramps(200, steps, seed: 2), steps);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LmuPooledFeaturize("Pooled", "Features", windows: 10, projectionsPerWindow: 40, seed: 1))
            .Append(ml.MulticlassClassification.Trainers.Ridge("Label", "Pooled"));
        var model = pipeline.Fit(train);
        var accuracy = ml.MulticlassClassification.Evaluate(model.Transform(test)).MicroAccuracy;
        // Chance is 0.5. Measured: 1.0 here; 0.535 with LmuFeaturize (order 16, the final memory only) in place of the
        // pooled featurizer, so the pooling is what this checks.
        Assert.IsGreaterThan(0.9, accuracy, $"accuracy {accuracy}");
    }

    [TestMethod]
    public void TheContextsCancelExecutionStopsTheFitSayingWhatWasCancelled()
    {
        // QA: the catalog's ridge did not observe MLContext.CancelExecution at all. Cancelled before Fit, and while Fit
        // reads its rows (the data cancels the context on its 10th row; 300 rows keep the solver busy past the poll).
        var cancel = typeof(MLContext).GetMethod("CancelExecution", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic);
        Assert.IsNotNull(cancel, "ML.NET renamed CancelExecution");
        var keyer = new MLContext(seed: 1);
        var rows = LinearRows(300, seed: 5);
        var key = keyer.Transforms.Conversion.MapValueToKey("Label").Fit(Load(keyer, rows));

        var before = new MLContext(seed: 1);
        cancel.Invoke(before, null);
        var e = Assert.Throws<OperationCanceledException>(() => before.MulticlassClassification.Trainers.Ridge().Fit(key.Transform(Load(before, rows))));
        StringAssert.Contains(e.Message, "RidgeClassifier: Fit was cancelled through its MLContext (MLContext.CancelExecution).");

        var during = new MLContext(seed: 1);
        IEnumerable<Row> Cancelling()
        {
            for (var i = 0; i < rows.Count; i++)
            {
                if (i == 10) cancel.Invoke(during, null);
                yield return rows[i];
            }
        }

        e = Assert.Throws<OperationCanceledException>(() => during.MulticlassClassification.Trainers.Ridge().Fit(key.Transform(Load(during, Cancelling()))));
        StringAssert.Contains(e.Message, "RidgeClassifier: Fit was cancelled through its MLContext (MLContext.CancelExecution).");

        // A Fit shorter than the poll: the flag set on the 5th of 60 rows is seen when the Fit ends (review: the model
        // was returned from a cancelled context).
        var brief = new MLContext(seed: 1);
        IEnumerable<Row> CancellingEarly()
        {
            for (var i = 0; i < 60; i++)
            {
                if (i == 5) cancel.Invoke(brief, null);
                yield return rows[i];
            }
        }

        e = Assert.Throws<OperationCanceledException>(() => brief.MulticlassClassification.Trainers.Ridge().Fit(key.Transform(Load(brief, CancellingEarly()))));
        StringAssert.Contains(e.Message, "RidgeClassifier: Fit was cancelled through its MLContext (MLContext.CancelExecution).");

        // An uncancelled context fits as before.
        using var fitted = keyer.MulticlassClassification.Trainers.Ridge().Fit(key.Transform(Load(keyer, rows.Take(60))));
    }

    [TestMethod]
    public void BadInputIsRejectedWithTheColumnAndTheValue()
    {
        var ml = new MLContext(seed: 1);
        var rows = LinearRows(10, seed: 3);
        var data = Load(ml, rows);
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.Ridge().Fit(data));
        StringAssert.Contains(e.Message, "label column 'Label' must be a UInt32 key");
        StringAssert.Contains(e.Message, "MapValueToKey");
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data);
        StringAssert.Contains(
            Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.Ridge("Label", "Nope").Fit(keyed)).Message, "'Nope' not found");

        rows[4].Features[2] = float.PositiveInfinity;
        var bad = ml.Transforms.Conversion.MapValueToKey("Label").Fit(Load(ml, rows)).Transform(Load(ml, rows));
        var d = Assert.ThrowsExactly<InvalidDataException>(() => ml.MulticlassClassification.Trainers.Ridge().Fit(bad));
        StringAssert.Contains(d.Message, "'Features', row 4, slot 2");

        var one = LinearRows(6, seed: 1).Select(r => new Row { Features = r.Features, Label = "a" }).ToList();
        one.Add(new Row { Features = [1, 2, 3, 4], Label = "b" });
        var single = ml.Transforms.Conversion.MapValueToKey("Label").Fit(Load(ml, one)).Transform(Load(ml, one.Take(6)));
        StringAssert.Contains(Assert.ThrowsExactly<InvalidOperationException>(() => ml.MulticlassClassification.Trainers.Ridge().Fit(single)).Message, "1 classes");
        StringAssert.Contains(
            Assert.ThrowsExactly<ArgumentException>(() => ml.MulticlassClassification.Trainers.Ridge(new RidgeClassifierOptions { Alphas = [1, -2] })).Message, "Alphas");
        // QA: a score named as the features failed after the solve, as an invalid ONNX model; one named as the label hid it.
        StringAssert.Contains(
            Assert.ThrowsExactly<ArgumentException>(() => ml.MulticlassClassification.Trainers.Ridge(new RidgeClassifierOptions { FeatureColumnName = "P", ScoreColumnName = "P" })).Message,
            "ScoreColumnName ('P') must differ from FeatureColumnName, the column the model reads");
        StringAssert.Contains(
            Assert.ThrowsExactly<ArgumentException>(() => ml.MulticlassClassification.Trainers.Ridge(new RidgeClassifierOptions { PredictedLabelColumnName = "Label" })).Message,
            "LabelColumnName ('Label') must differ from ScoreColumnName and PredictedLabelColumnName");

        // QA: "must be a fixed-size Vector<Single> but is Vector<Single>" for a variable-size vector, and a Key<Byte>
        // label "holds fewer than 2 classes".
        var variable = ml.Data.LoadFromEnumerable(rows.Select(r => new VariableRow { Label = r.Label, Features = r.Features }));
        variable = ml.Transforms.Conversion.MapValueToKey("Label").Fit(variable).Transform(variable);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.Ridge().Fit(variable)).Message,
            "features column 'Features' must be a fixed-size Vector<Single> but is a variable-size Vector<Single>.");
        var definition = SchemaDefinition.Create(typeof(ByteKeyRow));
        definition[nameof(ByteKeyRow.Label)].ColumnType = new KeyDataViewType(typeof(byte), 3);
        var bytes = ml.Data.LoadFromEnumerable(rows.Select((r, i) => new ByteKeyRow { Label = (byte)(i % 3 + 1), Features = r.Features }), definition);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.Ridge().Fit(bytes)).Message,
            "label column 'Label' must be a UInt32 key of at least 2 values but is Key<Byte, 0-2>; its keys are Byte values; map the labels with MapValueToKey, which makes UInt32 keys.");
    }

    private sealed class VariableRow
    {
        public string Label { get; set; } = string.Empty;

        [VectorType]
        public float[] Features { get; set; } = [];
    }

    private sealed class ByteKeyRow
    {
        public byte Label { get; set; }

        [VectorType(4)]
        public float[] Features { get; set; } = [];
    }

    private static List<Row> LinearRows(int count, int seed)
    {
        var rng = new Random(seed);
        var rows = new List<Row>();
        while (rows.Count < count)
        {
            var x = Enumerable.Range(0, 4).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            // Three classes in three 120-degree sectors of (x0, x1), leaving out rows near a boundary: each class is
            // then separable from the other two by a plane, which is what one-vs-rest least squares can find.
            var scores = new[] { x[0], (-0.5 * x[0]) + (0.866 * x[1]), (-0.5 * x[0]) - (0.866 * x[1]) };
            var order = scores.Select((v, i) => (v, i)).OrderByDescending(p => p.v).ToArray();
            if (order[0].v - order[1].v < 0.3)
            {
                continue;
            }

            // An irrelevant feature with a large offset and a tiny spread: the standardisation must absorb it, and the
            // graph must not lose the decision to float32 cancellation (folding the mean into the bias did: Score off by 0.18).
            x[3] = 1e4f + (float)(1e-3 * rng.NextDouble());
            rows.Add(new Row { Features = x, Label = new[] { "a", "b", "c" }[order[0].i] });
        }

        // MapValueToKey numbers keys by first occurrence: one row of each class first makes the key order a, b, c.
        var firsts = new[] { "a", "b", "c" }.Select(l => rows.First(r => r.Label == l)).ToList();
        return [.. firsts, .. rows.Except(firsts)];
    }

    private static List<SeqRow> Ramps(int count, int steps, int seed)
    {
        var rng = new Random(seed);
        var rows = new List<SeqRow>();
        for (var i = 0; i < count; i++)
        {
            var up = i % 2 == 0;
            var x = Enumerable.Range(0, steps).Select(_ => (float)(0.3 * (rng.NextDouble() - 0.5))).ToArray();
            var start = rng.Next(0, steps - 8);
            for (var t = 0; t < 8; t++)
            {
                x[start + t] += (float)((up ? t : 7 - t) / 3.5);
            }

            rows.Add(new SeqRow { Features = x, Length = steps, Label = up ? "up" : "down" });
        }

        return rows;
    }

    private static IDataView Load(MLContext ml, IEnumerable<Row> rows)
    {
        var def = SchemaDefinition.Create(typeof(Row));
        def[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, 4);
        return ml.Data.LoadFromEnumerable(rows, def);
    }

    public sealed class Row
    {
        [VectorType(4)]
        public float[] Features { get; set; } = [];

        public string Label { get; set; } = string.Empty;
    }

    public sealed class Prediction
    {
        public uint PredictedLabel { get; set; }
    }
}
