using Lmu.MLNet.Maths;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Featurize;

/// <summary>
/// LmuPooledFeaturize: the ONNX graph (a grouped causal convolution with each window's impulse response, a batched
/// projection, a count and a max) against the float64 step-by-step recurrence of the same sampled kernels.
/// Tolerances: the maxima are sums of a few hundred float32 products of O(1) values, so 1e-4 relative (absolute below 1)
/// bounds float32 rounding with headroom, while a wrong kernel tap, window or bias is off by far more. A proportion is
/// a count of z_t &gt; 0 divided by the steps; float32 rounding can flip the sign of a z_t within ~1e-6 of 0, so a
/// proportion may differ by 1/T, and at most 1 % of them may differ at all (a shifted or truncated kernel changes most).
/// </summary>
[TestClass]
public sealed class LmuPooledFeaturizerTests
{
    [TestMethod]
    [DataRow(1, LmuFeatureNormalization.ZScorePerRow, LmuDiscretizer.Zoh)]
    [DataRow(3, LmuFeatureNormalization.None, LmuDiscretizer.Euler)]
    [DataRow(2, LmuFeatureNormalization.ZScorePerChannel, LmuDiscretizer.Zoh)]
    public void GraphEqualsTheFloat64Recurrence(int channels, LmuFeatureNormalization norm, LmuDiscretizer method)
    {
        const int steps = 30;
        var rows = FeaturizerData.Random(12, steps, channels, seed: 7, scale: 2, offset: 1);
        var ml = new MLContext(seed: 1);
        var data = FeaturizerData.Load(ml, rows, steps * channels);
        using var model = ml.Transforms.LmuPooledFeaturize(new LmuPooledFeaturizerOptions
        {
            OutputColumnName = "P", Channels = channels, Windows = 6, ProjectionsPerWindow = 7, Order = 5, Normalization = norm, Discretizer = method, Seed = 3,
        }).Fit(data);
        Assert.AreEqual(2 * 6 * 7, model.OutputSize);
        var scored = model.Transform(data);
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Single, model.OutputSize), scored.Schema["P"].Type);
        var outputs = scored.GetColumn<float[]>("P").ToArray();
        for (var r = 0; r < rows.Count; r++)
        {
            AssertMatches(model.Kernels.Features(rows[r].Features, steps), outputs[r], steps, $"row {r}");
        }

        // The samples are where the options say: windows inside [min(8, T), T], coefficient 0 never projected.
        Assert.IsTrue(model.Thetas.All(t => t >= 8 && t <= steps), string.Join(", ", model.Thetas));
        for (var g = 0; g < model.Kernels.Windows; g++)
        {
            for (var k = 0; k < model.Kernels.Projections; k++)
            {
                for (var c = 0; c < channels; c++)
                {
                    Assert.AreEqual(0, model.Kernels.Weights[g, k, c * 5]);
                }
            }
        }
    }

    [TestMethod]
    public void EachBiasSitsBetweenTheQuartilesOfItsProjectionOnItsTrainingRow()
    {
        // Fit places window g's biases at minus a quantile in [0.25, 0.75] of the projections over training row
        // BiasRowIndices[g], so on that row each proportion of positive values lies in [0.25, 0.75] (within 1/T for
        // the interpolated quantile). Skewed rows (exp of uniform values) make a sign or quantile error show.
        const int steps = 40;
        var rng = new Random(5);
        var rows = Enumerable.Range(0, 15).Select(_ => new SeqRow
        {
            Features = Enumerable.Range(0, steps).Select(_ => (float)Math.Exp(3 * rng.NextDouble())).ToArray(), Length = steps,
        }).ToList();
        var ml = new MLContext(seed: 1);
        using var model = ml.Transforms.LmuPooledFeaturize(new LmuPooledFeaturizerOptions
        {
            OutputColumnName = "P", Windows = 8, ProjectionsPerWindow = 10, Normalization = LmuFeatureNormalization.None, Seed = 4,
        }).Fit(FeaturizerData.Load(ml, rows, steps));
        var k = model.Kernels;
        var indices = LmuPooledKernelSet.BiasRowIndices(4, k.Windows, rows.Count);
        for (var g = 0; g < k.Windows; g++)
        {
            var features = k.Features(rows[indices[g]].Features, steps);
            for (var j = 0; j < k.Projections; j++)
            {
                var proportion = features[(g * k.Projections) + j];
                Assert.IsTrue(
                    proportion >= LmuPooledKernelSet.LowQuantile - (1.0 / steps) && proportion <= LmuPooledKernelSet.HighQuantile + (1.0 / steps),
                    $"window {g}, projection {j}: proportion {proportion} on its bias row");
            }
        }
    }

    [TestMethod]
    public void EachBiasIsMinusAQuantileBetween25And75PercentOfItsRowsProjection()
    {
        // Recomputed here, not read from the kernel set's evaluation or constants: each window's memory over its bias row
        // (m_t = Ad m_{t-1} + Bd u_t with that window's discretised system), each projection z_t = w . m_t, and the
        // position of -bias among the z_t. A linear-interpolation quantile at q of n values lies between order
        // statistics floor(q (n - 1)) and the next, so for q in [0.25, 0.75]: #(z < -b) <= floor(0.75 (n - 1)) + 1 and
        // #(z <= -b) >= floor(0.25 (n - 1)) + 1. Both counts allow 1e-9 relative for the order of float64 sums. And the
        // q are drawn uniformly over that interval: of 80 biases, some fall in each outer tenth (each misses with
        // probability 0.8^80 < 1e-7), so neither a narrowed nor a constant quantile passes.
        const int steps = 40;
        var rng = new Random(5);
        var rows = Enumerable.Range(0, 15).Select(_ => new SeqRow
        {
            Features = Enumerable.Range(0, steps).Select(_ => (float)Math.Exp(3 * rng.NextDouble())).ToArray(), Length = steps,
        }).ToList();
        var ml = new MLContext(seed: 1);
        using var model = ml.Transforms.LmuPooledFeaturize(new LmuPooledFeaturizerOptions
        {
            OutputColumnName = "P", Windows = 8, ProjectionsPerWindow = 10, Normalization = LmuFeatureNormalization.None, Seed = 4,
        }).Fit(FeaturizerData.Load(ml, rows, steps));
        var k = model.Kernels;
        var indices = LmuPooledKernelSet.BiasRowIndices(4, k.Windows, rows.Count);
        var positions = new List<double>();
        for (var g = 0; g < k.Windows; g++)
        {
            var (ad, bd) = (k.Systems[g].Ad, k.Systems[g].Bd);
            var q = bd.Length;
            var memory = new double[steps, q];
            var state = new double[q];
            for (var t = 0; t < steps; t++)
            {
                var next = new double[q];
                for (var i = 0; i < q; i++)
                {
                    next[i] = bd[i] * rows[indices[g]].Features[t];
                    for (var j = 0; j < q; j++)
                    {
                        next[i] += ad[i, j] * state[j];
                    }

                    memory[t, i] = next[i];
                }

                state = next;
            }

            for (var p = 0; p < k.Projections; p++)
            {
                var z = Enumerable.Range(0, steps).Select(t => Enumerable.Range(0, q).Sum(i => k.Weights[g, p, i] * memory[t, i])).ToArray();
                var threshold = -k.Biases[g, p];
                var eps = 1e-9 * z.Max(Math.Abs);
                var below = z.Count(v => v < threshold - eps);
                var atOrBelow = z.Count(v => v <= threshold + eps);
                Assert.IsTrue(below <= Math.Floor(0.75 * (steps - 1)) + 1 && atOrBelow >= Math.Floor(0.25 * (steps - 1)) + 1,
                    $"window {g}, projection {p}: -bias {threshold} has {below} of {steps} projections below it and {atOrBelow} at or below");
                positions.Add((below + atOrBelow) / 2.0 / (steps - 1));
            }
        }

        Bound.Below(0.35, positions.Min(), "some bias in the lowest tenth of [0.25, 0.75]");
        Assert.IsGreaterThan(0.65, positions.Max(), "some bias in the highest tenth of [0.25, 0.75]");
    }

    [TestMethod]
    public void ProjectionDirectionsAreStandardNormalInTheOrthonormalLegendreBasis()
    {
        // Coefficient i of the memory carries a factor sqrt(2i + 1)^2 = 2i + 1 over the orthonormal one, so a direction
        // that is standard normal in the orthonormal basis has w_i sqrt(2i + 1) ~ N(0, 1) for i >= 1 (and w_0 = 0). With
        // 60 x 40 = 2400 draws per coefficient the sample variance has a standard error sqrt(2 / 2400) = 0.029; the
        // 0.15 tolerance is 5 of them, while a missing or doubled factor moves the variance to 2i + 1 >= 3 or 1/(2i+1) <= 1/3.
        const int order = 6, windows = 60, projections = 40;
        var set = LmuPooledKernelSet.Sample(
            20, 1, order, windows, projections, 4, 20, LmuDiscretizer.Zoh, LmuFeatureNormalization.None, seed: 9, _ => (new float[20], 20));
        for (var i = 0; i < order; i++)
        {
            var scaled = new List<double>();
            for (var g = 0; g < windows; g++)
            {
                for (var k = 0; k < projections; k++)
                {
                    scaled.Add(set.Weights[g, k, i] * Math.Sqrt((2 * i) + 1));
                }
            }

            var variance = scaled.Sum(v => v * v) / scaled.Count;
            Assert.AreEqual(i == 0 ? 0 : 1, variance, i == 0 ? 0 : 0.15, $"coefficient {i}: variance of w_i sqrt(2i+1)");
        }
    }

    [TestMethod]
    public void ZScoreRowsGiveTheSameFeaturesAtAnyScale()
    {
        // A z-scored row does not depend on the row's scale; only a spread below 1e-8 of the row's largest magnitude
        // (documented) is left unscaled. So rows scaled by 1e-5, 1e-9 or 1e-20 must score as the originals' reference
        // features, within the class tolerances (float32 represents them to the same relative precision). The floor was
        // absolute (1e-8 in the row's units) until QA found rows of scale 1e-9 only centred. A model fitted on the scaled
        // rows must equal the one fitted on the originals too: its biases come from the float64 reference's z-score
        // (review: with the old floor there, its features moved by up to 0.57).
        const int steps = 30;
        var rows = FeaturizerData.Random(10, steps, 1, seed: 13, scale: 2, offset: 1);
        var ml = new MLContext(seed: 1);
        var options = new LmuPooledFeaturizerOptions
        {
            OutputColumnName = "P", Windows = 6, ProjectionsPerWindow = 7, Order = 5, Normalization = LmuFeatureNormalization.ZScorePerRow, Seed = 3,
        };
        using var model = ml.Transforms.LmuPooledFeaturize(options).Fit(FeaturizerData.Load(ml, rows, steps));
        foreach (var scale in new[] { 1e-5f, 1e-9f, 1e-20f })
        {
            var tiny = rows.Select(r => new SeqRow { Features = r.Features.Select(v => v * scale).ToArray(), Length = r.Length }).ToList();
            var scored = model.Transform(FeaturizerData.Load(ml, tiny, steps)).GetColumn<float[]>("P").ToArray();
            using var fittedOnTiny = ml.Transforms.LmuPooledFeaturize(options).Fit(FeaturizerData.Load(ml, tiny, steps));
            var scoredByTiny = fittedOnTiny.Transform(FeaturizerData.Load(ml, tiny, steps)).GetColumn<float[]>("P").ToArray();
            for (var r = 0; r < rows.Count; r++)
            {
                AssertMatches(model.Kernels.Features(rows[r].Features, steps), scored[r], steps, $"row {r} x {scale}");
                AssertMatches(model.Kernels.Features(rows[r].Features, steps), scoredByTiny[r], steps, $"row {r} x {scale}, fitted on the scaled rows");
            }
        }
    }

    [TestMethod]
    public void TheRecurrenceEqualsTheConvolutionWithTheImpulseResponse()
    {
        // The reference's own check: States (step by step) against sum_tau H[tau] u[t - tau] (ImpulseResponse), float64.
        var system = DiscreteLegendreSystem.Create(7, 13.5, LmuDiscretizer.Zoh);
        var rng = new Random(2);
        var u = Enumerable.Range(0, 40).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        var states = system.States(u);
        var h = system.ImpulseResponse(u.Length);
        for (var t = 0; t < u.Length; t++)
        {
            for (var i = 0; i < 7; i++)
            {
                var conv = 0.0;
                for (var tau = 0; tau <= t; tau++)
                {
                    conv += h[tau, i] * u[t - tau];
                }

                Assert.AreEqual(conv, states[t, i], 1e-12 * Math.Max(1, Math.Abs(conv)), $"t {t}, i {i}");
            }
        }
    }

    [TestMethod]
    public void VariableLengthRowsArePooledOverTheirOwnStepsOnly()
    {
        const int steps = 16, channels = 2;
        var ml = new MLContext(seed: 1);
        var train = FeaturizerData.Random(6, steps, channels, seed: 2);
        using var model = ml.Transforms.LmuPooledFeaturize(new LmuPooledFeaturizerOptions
        {
            OutputColumnName = "P", Channels = channels, Windows = 4, ProjectionsPerWindow = 5, Order = 4, LengthColumnName = "Length", Seed = 1,
        }).Fit(FeaturizerData.Load(ml, train, steps * channels));
        var rows = FeaturizerData.Random(5, steps, channels, seed: 4, scale: 3);
        float[] lengths = [16, 9, 3, 1, 2];
        for (var r = 0; r < rows.Count; r++)
        {
            rows[r].Length = lengths[r];
            // Padding holds garbage: it must never be read.
            for (var i = (int)lengths[r] * channels; i < steps * channels; i++)
            {
                rows[r].Features[i] = 1e6f;
            }
        }

        var outputs = model.Transform(FeaturizerData.Load(ml, rows, steps * channels)).GetColumn<float[]>("P").ToArray();
        for (var r = 0; r < rows.Count; r++)
        {
            var expected = model.Kernels.Features(rows[r].Features, (int)lengths[r]);
            AssertMatches(expected, outputs[r], Math.Max(1, (int)lengths[r]), $"row {r} (length {lengths[r]})");
        }

    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void WindowsComputedInGroupsGiveTheFeaturesOfTheWholeGraph(bool withLengths)
    {
        // Long rows convolve a span of steps at a time and project a group of windows at a time, so neither the Conv's
        // unrolled input (T x T per channel) nor the [windows, P, T] projections grow with T squared or hold every window
        // (QA: 3 GB for 10 rows of 20,000 steps). Here both split at 40 steps, against the one-piece graph.
        const int steps = TwoChannelSteps;
        using var model = TwoChannelModel(withLengths);
        var k = model.Kernels;
        var (rows, lengths) = TwoChannelRows(withLengths);
        float[][] Features(long groupBytes, long convBytes = LmuPooledFeaturizerGraph.DefaultConvBytes) =>
            GraphFeatures(LmuPooledFeaturizerGraph.Build(new LmuPooledFeaturizerGraph.Spec("Features", withLengths ? "Length" : null, "P", k, GroupBytes: groupBytes, ConvBytes: convBytes)), rows, withLengths ? lengths : null);

        Assert.AreEqual(7, LmuPooledFeaturizerGraph.GroupSize(k, LmuPooledFeaturizerGraph.DefaultGroupBytes), "one group at this size");
        Assert.AreEqual(steps, LmuPooledFeaturizerGraph.SpanSteps(k, LmuPooledFeaturizerGraph.DefaultConvBytes), "one Conv span at this size");
        var whole = Features(LmuPooledFeaturizerGraph.DefaultGroupBytes);
        // Groups of 1 and 3 windows; Conv spans of 1, 7 and 16 steps (the last span shorter), with groups of 3.
        foreach (var (windowsPerGroup, span) in new[] { (1, steps), (3, steps), (3, 1), (7, 7), (3, 16) })
        {
            var bytes = (long)windowsPerGroup * k.Projections * steps * sizeof(float);
            var convBytes = (long)span * steps * sizeof(float);
            Assert.AreEqual(windowsPerGroup, LmuPooledFeaturizerGraph.GroupSize(k, bytes));
            Assert.AreEqual(span, LmuPooledFeaturizerGraph.SpanSteps(k, convBytes));
            var grouped = Features(bytes, convBytes);
            for (var r = 0; r < rows.Count; r++)
            {
                // The same products per window and step; a Conv over a shorter span may block its float32 sums
                // differently, hence 1e-6 relative (the counts and maxima are of the same values).
                Assert.HasCount(whole[r].Length, grouped[r]);
                for (var i = 0; i < whole[r].Length; i++)
                {
                    Assert.AreEqual(whole[r][i], grouped[r][i], 1e-6 * Math.Max(1, Math.Abs(whole[r][i])), $"groups of {windowsPerGroup}, spans of {span}, row {r}, slot {i}");
                }
            }
        }
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void TheMemoryInBlocksGivesTheReferenceFeatures(bool withLengths)
    {
        // QA: the whole-row Conv made the featurizer quadratic in T (4.2 s a row at 10,000 steps). In blocks of L steps
        // the memory is a Conv of L taps plus Ad^L carried from block to block. Against the float64 reference at block
        // lengths that divide T and that do not (the tail padded), down to one step, with two channels and lengths.
        using var model = TwoChannelModel(withLengths);
        var k = model.Kernels;
        var (rows, lengths) = TwoChannelRows(withLengths);
        foreach (var block in new[] { 1, 7, 8, 16, 39 })
        {
            var bytes = LmuPooledFeaturizerGraph.Build(new LmuPooledFeaturizerGraph.Spec("Features", withLengths ? "Length" : null, "P", k, BlockSteps: block));
            Assert.IsTrue(System.Text.Encoding.ASCII.GetString(bytes).Contains("memory_block_power", StringComparison.Ordinal), $"blocks of {block}: the blocked graph");
            var features = GraphFeatures(bytes, rows, withLengths ? lengths : null);
            for (var r = 0; r < rows.Count; r++)
            {
                AssertMatches(k.Features(rows[r].Features, (int)lengths[r]), features[r], (int)lengths[r], $"blocks of {block}, row {r} (length {lengths[r]})");
            }
        }
    }

    [TestMethod]
    public void RowsFromAThousandAndTwentyFourStepsAreFeaturizedInBlocks()
    {
        // The estimator's own choice: the whole-row Conv below LmuPooledFeaturizerGraph.BlockedFromSteps (the graph the
        // README's UCR results were measured with), blocks of 64 steps from there; the long rows against the reference.
        Assert.AreEqual(0, LmuPooledFeaturizerGraph.BlockStepsFor(1023));
        Assert.AreEqual(64, LmuPooledFeaturizerGraph.BlockStepsFor(1024));
        const int steps = 1100;
        var ml = new MLContext(seed: 1);
        var train = FeaturizerData.Random(4, steps, 1, seed: 5);
        using var model = ml.Transforms.LmuPooledFeaturize(new LmuPooledFeaturizerOptions
        {
            OutputColumnName = "P", Windows = 3, ProjectionsPerWindow = 4, Order = 6, Seed = 3,
        }).Fit(FeaturizerData.Load(ml, train, steps));
        var rows = FeaturizerData.Random(2, steps, 1, seed: 6, scale: 2);
        var outputs = model.Transform(FeaturizerData.Load(ml, rows, steps)).GetColumn<float[]>("P").ToArray();
        for (var r = 0; r < rows.Count; r++)
        {
            AssertMatches(model.Kernels.Features(rows[r].Features, steps), outputs[r], steps, $"row {r}");
        }

        var spec = new LmuPooledFeaturizerGraph.Spec("Features", null, "P", model.Kernels);
        Assert.IsTrue(System.Text.Encoding.ASCII.GetString(LmuPooledFeaturizerGraph.Build(spec)).Contains("memory_block_power", StringComparison.Ordinal), "the automatic form at 1,100 steps");
    }

    [TestMethod]
    public void SameSeedGivesTheSameModelAndTheZipScoresIdentically()
    {
        const int steps = 20;
        var rows = FeaturizerData.Random(10, steps, 1, seed: 3, scale: 2);
        var options = new LmuPooledFeaturizerOptions { OutputColumnName = "P", Windows = 5, ProjectionsPerWindow = 6, Seed = 11 };
        var ml = new MLContext(seed: 1);
        var data = FeaturizerData.Load(ml, rows, steps);
        using var a = ml.Transforms.LmuPooledFeaturize(options).Fit(data);
        using var b = ml.Transforms.LmuPooledFeaturize(options).Fit(data);
        options.Seed = 12;
        using var other = ml.Transforms.LmuPooledFeaturize(options).Fit(data);
        var fa = a.Transform(data).GetColumn<float[]>("P").SelectMany(v => v).ToArray();
        CollectionAssert.AreEqual(fa, b.Transform(data).GetColumn<float[]>("P").SelectMany(v => v).ToArray(), "same seed, same features");
        CollectionAssert.AreNotEqual(fa, other.Transform(data).GetColumn<float[]>("P").SelectMany(v => v).ToArray(), "another seed samples other kernels");

        using var stream = new MemoryStream();
        ml.Model.Save(a, data.Schema, stream);
        stream.Position = 0;
        var ml2 = new MLContext(seed: 9);
        var loaded = ml2.Model.Load(stream, out _);
        Assert.IsInstanceOfType<TransformerChain<ITransformer>>(loaded, "the zip must hold only ML.NET's own types");
        CollectionAssert.AreEqual(fa, loaded.Transform(FeaturizerData.Load(ml2, rows, steps)).GetColumn<float[]>("P").SelectMany(v => v).ToArray(), "reloaded features must be bit-identical");
    }

    [TestMethod]
    public void AnUnsetSeedComesFromTheMLContext()
    {
        const int steps = 20;
        var rows = FeaturizerData.Random(10, steps, 1, seed: 3, scale: 2);
        float[] Features(MLContext ml, LmuPooledFeaturizerEstimator estimator)
        {
            var data = FeaturizerData.Load(ml, rows, steps);
            using var model = estimator.Fit(data);
            return model.Transform(data).GetColumn<float[]>("P").SelectMany(v => v).ToArray();
        }

        var options = new LmuPooledFeaturizerOptions { OutputColumnName = "P", Windows = 3, ProjectionsPerWindow = 4 };
        var a = new MLContext(seed: 7);
        var b = new MLContext(seed: 7);
        var first = Features(a, a.Transforms.LmuPooledFeaturize(options));
        CollectionAssert.AreEqual(first, Features(b, b.Transforms.LmuPooledFeaturize(options)), "the same context seed gives the same features");
        CollectionAssert.AreEqual(first, Features(b, new LmuPooledFeaturizerEstimator(new MLContext(seed: 7), options)), "the MLContext constructor draws the same way");
        CollectionAssert.AreNotEqual(first, Features(a, a.Transforms.LmuPooledFeaturize(options)), "a second fit in one context draws the next seed");
        options.Seed = 5;
        var explicitSeed = Features(a, a.Transforms.LmuPooledFeaturize(options));
        CollectionAssert.AreEqual(explicitSeed, Features(b, new LmuPooledFeaturizerEstimator(options)), "an explicit seed overrides the context");
    }

    [TestMethod]
    public void BadRowsAndOptionsAreRejectedBeforeAnythingIsBuilt()
    {
        var ml = new MLContext(seed: 1);
        var rows = FeaturizerData.Random(4, 10, 1, seed: 1);
        rows[2].Features[6] = float.NaN;
        var e = Assert.ThrowsExactly<InvalidDataException>(() => ml.Transforms.LmuPooledFeaturize("P", "Features").Fit(FeaturizerData.Load(ml, rows, 10)));
        StringAssert.Contains(e.Message, "'Features', row 2, step 6");
        StringAssert.Contains(e.Message, "NaN");

        rows = FeaturizerData.Random(4, 10, 1, seed: 1);
        rows[1].Length = 11;
        e = Assert.ThrowsExactly<InvalidDataException>(() => ml.Transforms.LmuPooledFeaturize(new LmuPooledFeaturizerOptions { LengthColumnName = "Length" })
            .Fit(FeaturizerData.Load(ml, rows, 10)));
        StringAssert.Contains(e.Message, "length column 'Length', row 1");
        StringAssert.Contains(e.Message, "from 1 to 10 (the model's sequence length) but found 11");

        var empty = FeaturizerData.Load(ml, [], 10);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidOperationException>(() => ml.Transforms.LmuPooledFeaturize("P", "Features").Fit(empty)).Message, "no rows");

        var a = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.LmuPooledFeaturize(new LmuPooledFeaturizerOptions { MinTheta = 20 })
            .Fit(FeaturizerData.Load(ml, FeaturizerData.Random(2, 10, 1, seed: 1), 10)));
        StringAssert.Contains(a.Message, "MinTheta resolves to 20 but MaxTheta to 10");

        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.LmuPooledFeaturize("P", order: 1)).Message, "Order");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.LmuPooledFeaturize("P", windows: 0)).Message, "Windows");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.LmuPooledFeaturize("P", projectionsPerWindow: 0)).Message, "ProjectionsPerWindow");
        StringAssert.Contains(
            Assert.ThrowsExactly<ArgumentException>(() => new LmuPooledFeaturizerEstimator(new LmuPooledFeaturizerOptions { MinTheta = 5, MaxTheta = 4 })).Message, "MinTheta");
        var missing = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.LmuPooledFeaturize("P", "Nope").Fit(FeaturizerData.Load(ml, rows, 10)));
        StringAssert.Contains(missing.Message, "'Nope'");
    }

    /// <summary>See the class remarks for the tolerances.</summary>
    private const int TwoChannelSteps = 40;

    /// <summary>A featurizer of two channels of 40 steps (7 windows of 5 projections at order 4), with a length column when asked.</summary>
    private static LmuPooledFeaturizerTransformer TwoChannelModel(bool withLengths)
    {
        var ml = new MLContext(seed: 1);
        return ml.Transforms.LmuPooledFeaturize(new LmuPooledFeaturizerOptions
        {
            OutputColumnName = "P", Channels = 2, Windows = 7, ProjectionsPerWindow = 5, Order = 4, Seed = 2,
            LengthColumnName = withLengths ? "Length" : null,
        }).Fit(FeaturizerData.Load(ml, FeaturizerData.Random(6, TwoChannelSteps, 2, seed: 3), TwoChannelSteps * 2));
    }

    /// <summary>Four rows for <see cref="TwoChannelModel"/>, and their lengths: 40, 23, 7 and 1, or all 40.</summary>
    private static (List<SeqRow> Rows, float[] Lengths) TwoChannelRows(bool withLengths) =>
        (FeaturizerData.Random(4, TwoChannelSteps, 2, seed: 4, scale: 2), withLengths ? [40, 23, 7, 1] : [40, 40, 40, 40]);

    /// <summary>Each row's features from the graph <paramref name="bytes"/>, one row per run, with its length when given.</summary>
    private static float[][] GraphFeatures(byte[] bytes, List<SeqRow> rows, float[]? lengths)
    {
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(bytes);
        return rows.Select((r, i) =>
        {
            var inputs = lengths is not null
                ? new (string, float[], long[])[] { ("Features", r.Features, [r.Features.Length]), ("Length", [lengths[i]], [1, 1]) }
                : [("Features", r.Features, [r.Features.Length])];
            using var result = ExportedOnnx.Run(session, inputs, "P");
            return result[0].GetTensorDataAsSpan<float>().ToArray();
        }).ToArray();
    }

    [TestMethod]
    public void AViewThatGivesFewerRowsOnItsSecondReadIsRefusedAsSuch()
    {
        // Fit reads the rows twice (check and count, then the rows that place the biases). A view drained by its first
        // cursor failed with "The given key '23' was not present in the dictionary" (found by QA).
        var ml = new MLContext(seed: 1);
        var options = new Lmu.MLNet.Featurize.LmuPooledFeaturizerOptions { OutputColumnName = "P", Windows = 3, ProjectionsPerWindow = 2, Order = 4, Seed = 1 };
        Tests.Infrastructure.ProbeDataView View(long? later) => new(30, 1_000, Tests.Infrastructure.ProbeColumn.Vector("Features", 12, (r, x) =>
        {
            for (var t = 0; t < x.Length; t++)
            {
                x[t] = MathF.Sin((r + 1) * t);
            }
        }))
        { LaterCursorRows = later };

        var drained = View(0);
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => ml.Transforms.LmuPooledFeaturize(options).Fit(drained));
        StringAssert.StartsWith(e.Message, "LmuPooledFeaturize: the data gave 30 rows when Fit checked them and 0 when it read them again to place the biases; ");
        StringAssert.Contains(e.Message, "Fit reads the data twice, so it must give the same rows each time");
        Assert.AreEqual(2, drained.CursorsOpened);

        // One row short, wherever the rows that place the biases are (review: only a missing chosen row was caught).
        StringAssert.Contains(Assert.ThrowsExactly<InvalidOperationException>(() => ml.Transforms.LmuPooledFeaturize(options).Fit(View(29))).Message, "30 rows when Fit checked them and 29 when");

        var whole = View(null);
        using var fitted = ml.Transforms.LmuPooledFeaturize(options).Fit(whole);
        Assert.AreEqual(2, whole.CursorsOpened, "twice, as README says");
    }

    private static void AssertMatches(double[] expected, float[] actual, int steps, string what)
    {
        Assert.HasCount(expected.Length, actual, what);
        var half = expected.Length / 2;
        var flipped = 0;
        for (var i = 0; i < half; i++)
        {
            var d = Math.Abs(expected[i] - actual[i]);
            Bound.AtMost((1.0 / steps) + 1e-6, d, $"{what} proportion [{i}]: expected {expected[i]}, got {actual[i]}");
            flipped += d > 1e-6 ? 1 : 0;
        }

        Bound.AtMost(Math.Max(1, half / 100), flipped, $"{what}: {flipped} of {half} proportions differ");
        for (var i = half; i < expected.Length; i++)
        {
            var tol = 1e-4 * Math.Max(1, Math.Abs(expected[i]));
            Bound.AtMost(tol, Math.Abs(expected[i] - actual[i]), $"{what} max [{i - half}]: expected {expected[i]}, got {actual[i]}");
        }
    }
}
