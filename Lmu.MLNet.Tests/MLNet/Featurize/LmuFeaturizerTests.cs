using Lmu.MLNet.Maths;
using Lmu.MLNet.Tests.Infrastructure;
using Lmu.MLNet.Tests.Onnx;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Featurize;

/// <summary>
/// LmuFeaturize against the float64 oracle and a float64 recurrence. Tolerances: inputs and kernel are float32 and
/// each output sums at most a few hundred products of O(1) values, so the float32 rounding stays below ~1e-5 relative;
/// 2e-5 absolute (or relative for larger values) leaves headroom while a wrong step, order or delay is off by >1e-2.
/// </summary>
[TestClass]
public sealed class LmuFeaturizerTests
{
    private const double Tolerance = 2e-5;

    [TestMethod]
    public void AZScoreOfOneValueAtATimeIsRefusedByBothFeaturizers()
    {
        // Found by QA: on 1-step rows the pooled featurizer's default ZScorePerRow made every feature 0 and the model
        // scored at chance. Refused at Fit; two channels per step still z-score per row.
        var ml = new MLContext(seed: 1);
        var oneStep = FeaturizerData.Load(ml, FeaturizerData.Random(6, 1, 1, seed: 1), 1);
        var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.LmuPooledFeaturize(new LmuPooledFeaturizerOptions { Order = 2 }).Fit(oneStep));
        StringAssert.Contains(e.Message, "LmuPooledFeaturize: Normalization = ZScorePerRow over rows of 1 step(s) x 1 channel(s) z-scores one value at a time");
        Assert.AreEqual("Normalization", e.ParamName);
        e = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.LmuFeaturize(new LmuFeaturizerOptions { Order = 2, Normalization = LmuFeatureNormalization.ZScorePerRow }).Fit(oneStep));
        StringAssert.Contains(e.Message, "LmuFeaturize: Normalization = ZScorePerRow over rows of 1 step(s)");

        var twoChannels = FeaturizerData.Load(ml, FeaturizerData.Random(6, 1, 2, seed: 1), 2);
        using (ml.Transforms.LmuPooledFeaturize(new LmuPooledFeaturizerOptions { Order = 2, Channels = 2 }).Fit(twoChannels)) { }
        e = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.LmuPooledFeaturize(new LmuPooledFeaturizerOptions { Order = 2, Channels = 2, Normalization = LmuFeatureNormalization.ZScorePerChannel }).Fit(twoChannels));
        StringAssert.Contains(e.Message, "Normalization = ZScorePerChannel over rows of 1 step(s) x 2 channel(s)");
        using (ml.Transforms.LmuPooledFeaturize(new LmuPooledFeaturizerOptions { Order = 2, Normalization = LmuFeatureNormalization.None }).Fit(oneStep)) { }
    }

    [TestMethod]
    public void BothFeaturizersStopOnTheContextsCancelExecution()
    {
        // Found in review: both fitted on a cancelled context, where ML.NET's own estimators throw.
        var cancel = typeof(MLContext).GetMethod("CancelExecution", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic);
        Assert.IsNotNull(cancel, "ML.NET renamed CancelExecution");
        var ml = new MLContext(seed: 1);
        var data = FeaturizerData.Load(ml, FeaturizerData.Random(6, 12, 1, seed: 1), 12);
        var featurize = ml.Transforms.LmuFeaturize("L", "Features", order: 4);
        var pooled = ml.Transforms.LmuPooledFeaturize(new LmuPooledFeaturizerOptions { Order = 4, Windows = 2, ProjectionsPerWindow = 3 });
        using (featurize.Fit(data)) { }
        using (pooled.Fit(data)) { }
        cancel.Invoke(ml, null);
        StringAssert.Contains(Assert.Throws<OperationCanceledException>(() => featurize.Fit(data)).Message, "LmuFeaturize: Fit was cancelled through its MLContext");
        StringAssert.Contains(Assert.Throws<OperationCanceledException>(() => pooled.Fit(data)).Message, "LmuPooledFeaturize: Fit was cancelled through its MLContext");
    }

    [TestMethod]
    public void AKernelTooLargeForTheGraphIsRefusedNamingItsParts()
    {
        // Found by QA: 336 read positions x order 64 over 100,000 steps overflowed an Int32 index ("Arithmetic operation
        // resulted in an overflow"). The check runs before the kernel is built, so a 1-row column of 100,000 steps is cheap.
        var ml = new MLContext(seed: 1);
        var data = FeaturizerData.Load(ml, [new SeqRow { Features = new float[100_000], Label = "a" }], 100_000);
        var options = new LmuFeaturizerOptions { OutputColumnName = "L", Order = 64, WindowPositions = Enumerable.Range(1, 335).Select(p => p * 290).ToArray() };
        var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.LmuFeaturize(options).Fit(data));
        StringAssert.Contains(e.Message, "LmuFeaturize: Order 64 x 336 read positions (the last step and 335 WindowPositions) plus 0 DecodedDelays over a sequence length of 100000");
        StringAssert.Contains(e.Message, "21,504 x 100,000 float32 values (8,203 MiB), more than the 1,024 MiB");

        // A kernel within the limit is built (4 read positions x order 8 over 8,000 steps).
        var small = FeaturizerData.Load(ml, [new SeqRow { Features = new float[8_000], Label = "a" }], 8_000);
        using var fitted = ml.Transforms.LmuFeaturize(new LmuFeaturizerOptions { OutputColumnName = "L", Order = 8, WindowPositions = [2_000, 4_000, 6_000] }).Fit(small);
    }

    [TestMethod]
    [DataRow(OracleFile.Committed, 2)]
    [DataRow(OracleFile.Committed, 3)]
    [DataRow(OracleFile.Shared, 2)]
    [DataRow(OracleFile.Shared, 3)]
    public void EqualsTheOracleMemoryAtEveryStep(string source, int index)
    {
        // Both oracles, one tolerance (float32 sets it, not the oracle): cases 2 and 3 have no hidden/memory feedback,
        // so their memory is the fixed memory of u_t = x_t e_x + b_u.
        var c = OracleForwardCase.Read(OracleFile.Load(source), index, source);
        var l = c.Spec.Layers[0];
        var steps = c.Spec.SequenceLength;
        var u = new float[steps * l.MemoryD];
        for (var t = 0; t < steps; t++)
        {
            for (var k = 0; k < l.MemoryD; k++)
            {
                double s = l.Bu![k];
                for (var j = 0; j < l.InputSize; j++)
                {
                    s += c.Input[t * l.InputSize + j] * (double)l.Ex![j * l.MemoryD + k];
                }

                u[t * l.MemoryD + k] = (float)s;
            }
        }

        var theta = OracleFile.Load(source).GetProperty("forward")[index].GetProperty("theta").GetDouble();
        var options = new LmuFeaturizerOptions
        {
            InputColumnName = "Features", Channels = l.MemoryD, Order = l.Order, Theta = theta,
            WindowPositions = Enumerable.Range(1, steps - 1).ToArray(),
        };
        var output = Featurize(options, [new SeqRow { Features = u }], u.Length)[0];
        var block = l.MemoryD * l.Order;
        Assert.HasCount(steps * block, output);
        LmuOnnxOracleTests.AssertClose(c.Memory[steps - 1], output.AsSpan(0, block).ToArray(), Tolerance, $"{c.Label} last step");
        for (var p = 1; p < steps; p++)
        {
            LmuOnnxOracleTests.AssertClose(c.Memory[p - 1], output.AsSpan(p * block, block).ToArray(), Tolerance, $"{c.Label} position {p}");
        }
    }

    [TestMethod]
    [DataRow(LmuDiscretizer.Zoh, LmuFeatureNormalization.None)]
    [DataRow(LmuDiscretizer.Euler, LmuFeatureNormalization.ZScorePerRow)]
    [DataRow(LmuDiscretizer.Zoh, LmuFeatureNormalization.ZScorePerChannel)]
    public void EqualsTheRecurrenceWithWindowsAndDecodedDelays(LmuDiscretizer method, LmuFeatureNormalization norm)
    {
        const int steps = 20, channels = 3, order = 6;
        const double theta = 15;
        // Offset and scale make normalisation matter.
        var rows = FeaturizerData.Random(5, steps, channels, seed: 4, scale: 3, offset: 2);
        int[] positions = [5, 12];
        double[] delays = [0, 0.5, 1];
        var options = new LmuFeaturizerOptions
        {
            Channels = channels, Order = order, Theta = theta, Discretizer = method, Normalization = norm,
            WindowPositions = positions, DecodedDelays = delays,
        };
        var outputs = Featurize(options, rows, steps * channels);
        for (var r = 0; r < rows.Count; r++)
        {
            var u = FeaturizerData.Steps(rows[r].Features, steps, channels);
            if (norm != LmuFeatureNormalization.None)
            {
                u = FeaturizerData.ZScore(u, norm == LmuFeatureNormalization.ZScorePerChannel);
            }

            var expected = Expected(u, order, theta, method, positions, delays);
            AssertRelClose(expected, outputs[r], $"row {r}");
        }
    }

    [TestMethod]
    [DataRow(LmuFeatureNormalization.ZScorePerRow)]
    [DataRow(LmuFeatureNormalization.ZScorePerChannel)]
    public void AZScoreOfRowsNear1e20EqualsThatOfTheSameRowsNear1(LmuFeatureNormalization norm)
    {
        // QA: the squared deviations overflowed float32 from about 1e18 on, and the features came out zero; rows of
        // scale 1e-9 were only centred (the floor was absolute), their features about 1e-9. A z-score does not depend on
        // the rows' scale, so rows times 1e20 or 1e-9 must give the features of the rows themselves.
        const int steps = 20, channels = 2;
        var rows = FeaturizerData.Random(4, steps, channels, seed: 6, scale: 3, offset: 2);
        var options = new LmuFeaturizerOptions { Channels = channels, Order = 6, Normalization = norm, WindowPositions = [10], DecodedDelays = [0.5] };
        var expected = Featurize(options, rows, steps * channels);
        foreach (var scale in new[] { 1e20f, 1e-9f, 1e-30f })
        {
            var scaled = rows.Select(r => new SeqRow { Features = r.Features.Select(v => v * scale).ToArray() }).ToList();
            var actual = Featurize(options, scaled, steps * channels);
            for (var r = 0; r < rows.Count; r++)
            {
                Assert.IsTrue(actual[r].Any(v => v != 0), $"scale {scale}, row {r}: all-zero features");
                AssertRelClose(expected[r].Select(v => (double)v).ToArray(), actual[r], $"scale {scale}, row {r}");
            }
        }
    }

    [TestMethod]
    public void PerChannelZScoresOfChannelsFarApartInScaleEqualThoseOfTheUnscaledChannels()
    {
        // Found by review: one magnitude for the whole row pushed the small channel into float32's subnormal range.
        const int steps = 20, channels = 2;
        var rows = FeaturizerData.Random(4, steps, channels, seed: 7, scale: 3, offset: 2);
        var mixed = rows.Select(r => new SeqRow { Features = r.Features.Select((v, i) => i % channels == 0 ? v * 1e24f : v).ToArray() }).ToList();
        var options = new LmuFeaturizerOptions { Channels = channels, Order = 6, Normalization = LmuFeatureNormalization.ZScorePerChannel, WindowPositions = [10], DecodedDelays = [0.5] };
        var expected = Featurize(options, rows, steps * channels);
        var actual = Featurize(options, mixed, steps * channels);
        for (var r = 0; r < rows.Count; r++)
        {
            AssertRelClose(expected[r].Select(v => (double)v).ToArray(), actual[r], $"row {r}");
        }
    }

    [TestMethod]
    [DataRow(LmuFeatureNormalization.None)]
    [DataRow(LmuFeatureNormalization.ZScorePerRow)]
    [DataRow(LmuFeatureNormalization.ZScorePerChannel)]
    public void VariableLengthRowsGiveTheMemoryOfTheirOwnSteps(LmuFeatureNormalization norm)
    {
        const int steps = 10, channels = 2, order = 4;
        var rows = FeaturizerData.Random(6, steps, channels, seed: 9, scale: 2, offset: 1);
        float[] lengths = [10, 7, 3, 1, 2, 9];
        for (var r = 0; r < rows.Count; r++)
        {
            rows[r].Length = lengths[r];
            // Padding holds garbage: it must never be read.
            for (var i = (int)Math.Min(lengths[r], steps) * channels; i < steps * channels; i++)
            {
                rows[r].Features[i] = 1e6f;
            }
        }

        var options = new LmuFeaturizerOptions
        {
            Channels = channels, Order = order, LengthColumnName = "Length", Normalization = norm, WindowPositions = [8], DecodedDelays = [0.25],
        };
        var outputs = Featurize(options, rows, steps * channels);
        for (var r = 0; r < rows.Count; r++)
        {
            var n = (int)Math.Clamp(lengths[r], 0, steps);
            var u = FeaturizerData.Steps(rows[r].Features, n, channels);
            if (norm != LmuFeatureNormalization.None && n > 0)
            {
                u = FeaturizerData.ZScore(u, norm == LmuFeatureNormalization.ZScorePerChannel);
            }

            // Right-aligned: zeros first (they leave the zero state unchanged), then the row's own n steps.
            var aligned = Enumerable.Range(0, steps - n).Select(_ => new double[channels]).Concat(u).ToArray();
            var expected = Expected(aligned, order, steps, LmuDiscretizer.Zoh, [8], [0.25]);
            AssertRelClose(expected, outputs[r], $"row {r} (length {lengths[r]})");
        }
    }

    [TestMethod]
    public void SaveAndLoadInANewContextScoreIdentically()
    {
        var dir = Path.Combine(Path.GetTempPath(), "lmu-feat-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var rows = FeaturizerData.Random(8, 16, 2, seed: 3);
            var zip = Path.Combine(dir, "featurizer.zip");
            float[][] before;
            {
                var ml = new MLContext(seed: 1);
                var data = FeaturizerData.Load(ml, rows, 32);
                using var model = ml.Transforms.LmuFeaturize(new LmuFeaturizerOptions
                {
                    Channels = 2, Order = 5, Normalization = LmuFeatureNormalization.ZScorePerRow, WindowPositions = [4], DecodedDelays = [0.5],
                }).Fit(data);
                before = model.Transform(data).GetColumn<float[]>("LmuFeatures").ToArray();
                ml.Model.Save(model, data.Schema, zip);
            }

            {
                var ml = new MLContext(seed: 2);
                var loaded = ml.Model.Load(zip, out var schema);
                Assert.IsInstanceOfType<TransformerChain<ITransformer>>(loaded, "the zip must hold only ML.NET's own types");
                Assert.AreEqual(32, ((VectorDataViewType)schema["Features"].Type).Size);
                var after = loaded.Transform(FeaturizerData.Load(ml, rows, 32)).GetColumn<float[]>("LmuFeatures").ToArray();
                for (var i = 0; i < rows.Count; i++)
                {
                    CollectionAssert.AreEqual(before[i], after[i], $"row {i} must be bit-identical");
                }

                using var engine = ml.Model.CreatePredictionEngine<SeqRow, FeatureRow>(loaded, inputSchemaDefinition: Definition(32));
                CollectionAssert.AreEqual(before[0], engine.Predict(rows[0]).LmuFeatures);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [TestMethod]
    [DataRow(LmuFeatureNormalization.None)]
    [DataRow(LmuFeatureNormalization.ZScorePerRow)]
    [DataRow(LmuFeatureNormalization.ZScorePerChannel)]
    public void ScoringIsBitDeterministic(LmuFeatureNormalization norm)
    {
        // ONNX Runtime's Reduce* kernels once made this fail (last-bit differences between runs of the same row).
        var ml = new MLContext(seed: 1);
        var rows = FeaturizerData.Random(150, 16, 2, seed: 3, scale: 3, offset: 2);
        using var model = ml.Transforms.LmuFeaturize(new LmuFeaturizerOptions
        {
            Channels = 2, Order = 5, Normalization = norm, DecodedDelays = [0.5], WindowPositions = [3],
        }).Fit(FeaturizerData.Load(ml, rows, 32));
        var a = model.Transform(FeaturizerData.Load(ml, rows, 32)).GetColumn<float[]>("LmuFeatures").ToArray();
        var b = model.Transform(FeaturizerData.Load(ml, rows, 32)).GetColumn<float[]>("LmuFeatures").ToArray();
        for (var i = 0; i < rows.Count; i++)
        {
            CollectionAssert.AreEqual(a[i], b[i], $"row {i}");
        }
    }

    [TestMethod]
    public void InPlaceOutputReplacesTheInputColumn()
    {
        var ml = new MLContext(seed: 1);
        var rows = FeaturizerData.Random(3, 12, 1, seed: 5);
        var data = FeaturizerData.Load(ml, rows, 12);
        var estimator = ml.Transforms.LmuFeaturize("Features", order: 4);
        var shape = estimator.GetOutputSchema(Shape(data.Schema));
        Assert.IsTrue(shape.Any(c => c.Name == "Features"));
        using var model = estimator.Fit(data);
        var scored = model.Transform(data);
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Single, 4), scored.Schema["Features"].Type);
        Assert.IsFalse(scored.Schema.Any(c => c.Name.EndsWith(".lmu", StringComparison.Ordinal) && !c.IsHidden), "temporary column left visible");
        var expected = Expected(FeaturizerData.Steps(rows[1].Features, 12, 1), 4, 12, LmuDiscretizer.Zoh, [], []);
        AssertRelClose(expected, scored.GetColumn<float[]>("Features").ElementAt(1), "in place");
    }

    [TestMethod]
    public void SchemaErrorsNameTheColumnAndTheExpectation()
    {
        var ml = new MLContext(seed: 1);
        var data = FeaturizerData.Load(ml, FeaturizerData.Random(2, 6, 2, seed: 1), 12);

        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.LmuFeaturize("Out", "Missing").Fit(data));
        StringAssert.Contains(e.Message, "'Missing'");
        StringAssert.Contains(e.Message, "Features");

        var a = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.LmuFeaturize("Out", "Features", channels: 5).Fit(data));
        StringAssert.Contains(a.Message, "12 values");
        StringAssert.Contains(a.Message, "Channels = 5");

        a = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.LmuFeaturize(new LmuFeaturizerOptions { SequenceLength = 5, Channels = 2 }).Fit(data));
        StringAssert.Contains(a.Message, "5 * 2 = 10");
        StringAssert.Contains(a.Message, "has 12");

        a = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.LmuFeaturize("Out", "Label").Fit(data));
        StringAssert.Contains(a.Message, "'Label'");
        StringAssert.Contains(a.Message, "Vector<Single>");

        a = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.LmuFeaturize(new LmuFeaturizerOptions { LengthColumnName = "Label" }).Fit(data));
        StringAssert.Contains(a.Message, "length column 'Label'");

        // A scalar Single column: converting its type cannot help, so the advice says what a sequence is (found by QA).
        a = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.LmuFeaturize("Out", "Length").Fit(data));
        StringAssert.Contains(a.Message, "one value per row");
        Assert.IsFalse(a.Message.Contains("ConvertType", StringComparison.Ordinal), a.Message);

        var doubles = ml.Transforms.Conversion.ConvertType("D", "Features", DataKind.Double).Fit(data).Transform(data);
        a = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.LmuFeaturize("Out", "D").Fit(doubles));
        StringAssert.Contains(a.Message, "ConvertType");
        a = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.LmuFeaturize("Out", "D").GetOutputSchema(Shape(doubles.Schema)));
        StringAssert.Contains(a.Message, "'D'");

        var variable = ml.Transforms.Text.TokenizeIntoWords("Words", "Label").Fit(data).Transform(data);
        variable = ml.Transforms.Conversion.ConvertType("VarF", "Words", DataKind.Single).Fit(variable).Transform(variable);
        a = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.LmuFeaturize("Out", "VarF").Fit(variable));
        StringAssert.Contains(a.Message, "variable-size");
        StringAssert.Contains(a.Message, "LengthColumnName");
    }

    [TestMethod]
    public void InvalidOptionsAreRejectedBeforeFit()
    {
        var ml = new MLContext(seed: 1);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.LmuFeaturize("Out", order: 0)).Message, "Order");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.LmuFeaturize("Out", theta: -1)).Message, "Theta");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.LmuFeaturize("Out", channels: 0)).Message, "Channels");
        StringAssert.Contains(
            Assert.ThrowsExactly<ArgumentException>(() => new LmuFeaturizerEstimator(new LmuFeaturizerOptions { SequenceLength = 8, WindowPositions = [8] })).Message,
            "WindowPositions");
        StringAssert.Contains(
            Assert.ThrowsExactly<ArgumentException>(() => new LmuFeaturizerEstimator(new LmuFeaturizerOptions { DecodedDelays = [1.5] })).Message,
            "DecodedDelays");
        var data = FeaturizerData.Load(ml, FeaturizerData.Random(1, 6, 1, seed: 1), 6);
        StringAssert.Contains(
            Assert.ThrowsExactly<ArgumentException>(() => new LmuFeaturizerEstimator(new LmuFeaturizerOptions { WindowPositions = [6] }).Fit(data)).Message,
            "window position 6");
    }

    internal static float[][] Featurize(LmuFeaturizerOptions options, List<SeqRow> rows, int width)
    {
        var ml = new MLContext(seed: 1);
        var data = FeaturizerData.Load(ml, rows, width);
        using var model = ml.Transforms.LmuFeaturize(options).Fit(data);
        var scored = model.Transform(data);
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Single, model.OutputSize), scored.Schema[options.OutputColumnName].Type);
        return scored.GetColumn<float[]>(options.OutputColumnName).ToArray();
    }

    /// <summary>Expected output from the recurrence: final memory, memory at each position, decoded delays (float64).</summary>
    private static double[] Expected(double[][] u, int order, double theta, LmuDiscretizer method, int[] positions, double[] delays)
    {
        var memory = FeaturizerData.Recurrence(u, order, theta, method);
        var last = memory[^1];
        var result = new List<double>(last);
        foreach (var p in positions)
        {
            result.AddRange(memory[p - 1]);
        }

        var channels = u[0].Length;
        for (var k = 0; k < channels; k++)
        {
            foreach (var r in delays)
            {
                var c = LegendreDecoder.Coefficients(order, r);
                result.Add(Enumerable.Range(0, order).Sum(i => c[i] * last[k * order + i]));
            }
        }

        return result.ToArray();
    }

    private static void AssertRelClose(double[] expected, float[] actual, string what)
    {
        Assert.HasCount(expected.Length, actual, what);
        for (var i = 0; i < expected.Length; i++)
        {
            var tol = Tolerance * Math.Max(1, Math.Abs(expected[i]));
            Assert.IsTrue(Math.Abs(expected[i] - actual[i]) <= tol, $"{what} [{i}]: expected {expected[i]}, got {actual[i]}");
        }
    }

    /// <summary>SchemaShape.Create is internal in ML.NET 5.0.1; estimator chains call it, tests reach it by reflection.</summary>
    private static SchemaShape Shape(DataViewSchema schema) =>
        (SchemaShape)typeof(SchemaShape).GetMethod("Create", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static, [typeof(DataViewSchema)])!
            .Invoke(null, [schema])!;

    private static SchemaDefinition Definition(int width)
    {
        var def = SchemaDefinition.Create(typeof(SeqRow));
        def[nameof(SeqRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        return def;
    }
}
