using Lmu.MLNet.Forecasting;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Tests.Onnx;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.Forecasting;

/// <summary>The streaming engine against the float64 window forward, the test oracle and the ONNX graph; checkpoints.</summary>
[TestClass]
public sealed class ForecastEngineTests
{
    public static IEnumerable<object[]> Cases() =>
    [
        [HiddenCell.Dense, 0, LmuForecastScaling.Global],
        [HiddenCell.Dense, 2, LmuForecastScaling.PerWindow],
        [HiddenCell.None, 1, LmuForecastScaling.PerWindow],
        [HiddenCell.SimpleRnn, 1, LmuForecastScaling.Global],
        [HiddenCell.Lstm, 2, LmuForecastScaling.PerWindow],
        [HiddenCell.Gru, 0, LmuForecastScaling.PerWindow],
    ];

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void EngineMatchesTheWindowForwardAtEveryStep(HiddenCell cell, int covariates, LmuForecastScaling scaling)
    {
        var model = ForecastTestModels.Create(cell, covariates, scaling);
        var (values, covs) = ForecastTestModels.Series(200, covariates);
        var engine = new LmuForecastEngine(model);
        Assert.AreEqual(cell is HiddenCell.None or HiddenCell.Dense, engine.SlidesState);
        for (var t = 0; t < values.Length; t++)
        {
            var f = engine.Observe(values[t], covs.Select(c => c[t]).ToArray());
            if (t < model.WindowSize - 1)
            {
                Assert.IsNull(f, $"step {t}: no forecast before a full window");
                continue;
            }

            var x = ForecastTestModels.ScaledWindow(model, values, covs, t, out var a0, out var b0);
            var y = LmuWindowForward.Run(model.Network, x);
            for (var h = 0; h < model.Horizon; h++)
            {
                // The sliding form sums the same terms in another order (F_t - Ad^T F_{t-T}); float64 rounding over
                // hundreds of steps of values ~100 stays far below 1e-6 relative, then the output is rounded to float32.
                Assert.AreEqual((float)(a0 + b0 * y[h]), f!.Forecast[h], 2e-5 * Math.Abs(a0 + b0 * y[h]) + 1e-5, $"step {t} h {h}");
                Assert.AreEqual((float)(a0 + b0 * (y[h] + model.LowerOffsets![h])), f.LowerBound![h], 2e-5 * Math.Abs(a0) + 1e-4);
                Assert.AreEqual((float)(a0 + b0 * (y[h] + model.UpperOffsets![h])), f.UpperBound![h], 2e-5 * Math.Abs(a0) + 1e-4);
            }
        }
    }

    [TestMethod]
    [DataRow(3e38f, LmuForecastScaling.PerWindow)]
    [DataRow(1e16f, LmuForecastScaling.PerWindow)]
    [DataRow(-1e20f, LmuForecastScaling.Global)]
    public void OneExtremeReadingLeavesNoTraceOnceItLeavesTheWindow(float spike, LmuForecastScaling scaling)
    {
        // Found by QA: one reading of 3e38 (1e16) in values near 100 left the whole-stream memory F huge for hundreds of
        // steps after the reading had left the window, where F_t - Ad^T F_{t-T} cancels it, and forecasts were off by up
        // to 22 (0.27) with no error. The engine restarts F from the window when F outgrows it.
        var model = ForecastTestModels.Create(HiddenCell.Dense, 1, scaling);
        var (values, covs) = ForecastTestModels.Series(400, 1);
        values[5] = spike;
        var engine = new LmuForecastEngine(model);
        Assert.IsTrue(engine.SlidesState);
        for (var t = 0; t < values.Length; t++)
        {
            var f = engine.Observe(values[t], [covs[0][t]]);
            if (t < model.WindowSize - 1 || t - 5 < model.WindowSize)
            {
                // Until the spike has left, the window's own forecasts hold it (not compared: their scale is the spike's).
                continue;
            }

            var x = ForecastTestModels.ScaledWindow(model, values, covs, t, out var a0, out var b0);
            var y = LmuWindowForward.Run(model.Network, x);
            for (var h = 0; h < model.Horizon; h++)
            {
                Assert.AreEqual((float)(a0 + b0 * y[h]), f!.Forecast[h], 2e-5 * Math.Abs(a0 + b0 * y[h]) + 1e-5, $"step {t} h {h}");
            }
        }

        Assert.IsGreaterThan(0L, engine.Reanchors, "the memory was restarted once the spike left the window");
        Bound.AtMost(3, engine.Reanchors, "and not again and again");
    }

    [TestMethod]
    public void AnUnstableMemoryReRunsTheWindowInsteadOfSliding()
    {
        // A learned A can leave Ad with a spectral radius above 1: the T-step window stays finite, but the sliding form's
        // whole-stream memory F_t would grow as radius^t and lose every digit in F_t - Ad^T F_{t-T}.
        var model = ForecastTestModels.Create(HiddenCell.Dense, 1, LmuForecastScaling.Global);
        var ad = model.Network.Layers[0].Ad;
        int q = model.Network.Layers[0].Order;
        Assert.IsTrue(LmuForecastEngine.IsStable(ad, q), "the Legendre system's Ad is stable");
        for (var i = 0; i < ad.Length; i++) ad[i] *= 2;
        Assert.IsFalse(LmuForecastEngine.IsStable(ad, q), "2 Ad must be unstable for this test to mean anything");

        var (values, covs) = ForecastTestModels.Series(300, 1);
        var engine = new LmuForecastEngine(model);
        Assert.IsFalse(engine.SlidesState, "an unstable memory must not slide");
        for (var t = 0; t < values.Length; t++)
        {
            var f = engine.Observe(values[t], [covs[0][t]]);
            if (t < model.WindowSize - 1) continue;
            var x = ForecastTestModels.ScaledWindow(model, values, covs, t, out var a0, out var b0);
            var y = LmuWindowForward.Run(model.Network, x);
            for (var h = 0; h < model.Horizon; h++)
            {
                Assert.AreEqual((float)(a0 + b0 * y[h]), f!.Forecast[h], 2e-5 * Math.Abs(a0 + b0 * y[h]) + 1e-5, $"step {t} h {h}");
            }
        }

        // The checkpoint of such an engine holds no sliding state and resumes to the same forecasts.
        var resumed = LmuForecastEngine.ResumeState(model, engine.SaveState());
        Assert.AreEqual(engine.Observe(1f, [0.5f])!.Forecast[0], resumed.Observe(1f, [0.5f])!.Forecast[0]);
    }

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void WindowForwardMatchesTheTestOracle(HiddenCell cell, int covariates, LmuForecastScaling scaling)
    {
        var model = ForecastTestModels.Create(cell, covariates, scaling);
        var (values, covs) = ForecastTestModels.Series(40, covariates);
        var x = ForecastTestModels.ScaledWindow(model, values, covs, 30, out _, out _);
        var ours = LmuWindowForward.Run(model.Network, x);
        var oracle = LmuReferenceModel.Forward(model.Network, x.Select(v => (float)v).ToArray()).Output;
        // The oracle reads float32 inputs; rounding x to float32 moves outputs by ~1e-7 relative.
        LmuOnnxOracleTests.AssertClose(oracle, ours.Select(v => (float)v).ToArray(), 1e-5, cell.ToString());
    }

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void EngineMatchesTheSavedOnnxModel(HiddenCell cell, int covariates, LmuForecastScaling scaling)
        => AssertEngineMatchesTheGraph(ForecastTestModels.Create(cell, covariates, scaling), covariates);

    [TestMethod]
    public void ADenseCellWhoseOutputFeedsTheMemoryForecastsAsItsGraph()
    {
        // The Dense cell's output is its hidden state: with a hidden-to-memory encoder the next step's memory reads it.
        // The window forward (the engine's path for such a network) once kept h at zero for this cell, 0.013 off the
        // graph's forecasts of ~110 here; the graph agrees with TorchSharp (LmuOnnxRecurrentBlockedTests).
        var model = ForecastTestModels.Create(HiddenCell.Dense, 1, LmuForecastScaling.PerWindow, bounds: true, seed: 7, encoder: true,
            hiddenToMemory: true, denseToMemory: true);
        Assert.IsNotNull(model.Network.Layers[0].Eh, "the memory reads the Dense output");
        Assert.IsFalse(new LmuForecastEngine(model).SlidesState, "a recurrent memory re-runs the window");
        AssertEngineMatchesTheGraph(model, 1);
    }

    // The engine's forecasts and lower bounds at every full window against the carried graph's over the same series.
    private static void AssertEngineMatchesTheGraph(LmuForecastModel model, int covariates)
    {
        var (values, covs) = ForecastTestModels.Series(60, covariates);
        var ml = new MLContext(1);
        using var chain = LmuForecastEstimator.CreateChain(ml, model);
        var windows = LmuForecastWindows.FromSeries(
            SeriesView.Create(ml, values, covs), "Value", model.WindowSize, 1, model.CovariateColumns);
        var scored = chain.Transform(windows);
        var forecasts = scored.GetColumn<float[]>("Forecast").ToArray();
        var lower = scored.GetColumn<float[]>("Lower").ToArray();
        var engine = new LmuForecastEngine(model);
        var row = 0;
        for (var t = 0; t < values.Length - 1; t++)
        {
            var f = engine.Observe(values[t], covs.Select(c => c[t]).ToArray());
            if (f is null)
            {
                continue;
            }

            for (var h = 0; h < model.Horizon; h++)
            {
                // float32 graph vs float64 engine: inputs ~100 scaled by ~20, a few float32 roundings per term.
                Assert.AreEqual(f.Forecast[h], forecasts[row][h], 1e-3, $"row {row} h {h}");
                Assert.AreEqual(f.LowerBound![h], lower[row][h], 1e-3, $"row {row} h {h} lower");
            }

            row++;
        }

        Assert.AreEqual(forecasts.Length, row);
    }

    [TestMethod]
    public void PerWindowScaleIsTheStdFlooredAtOneThousandthOfTheLevel()
    {
        // Documented: b = max(std, 1e-3 max(|mean|, 1)), std over the window (divisor T). Values chosen so each branch
        // decides: a flat window at 250 (floor 0.25), a flat window at 0.2 (floor 1e-3), a window whose std (0.5) is
        // above its floor (0.1), and one whose std (0.05) is below it (floor 0.1). Exact in float64 to ~1e-15.
        double[][] windows = [[250, 250, 250, 250], [0.2, 0.2, 0.2, 0.2], [99.5, 100.5, 99.5, 100.5], [99.95, 100.05, 99.95, 100.05]];
        double[] expected = [0.25, 1e-3, 0.5, 0.1];
        for (var i = 0; i < windows.Length; i++)
        {
            var (a, b) = LmuForecastModel.TargetScaling(LmuForecastScaling.PerWindow, 0, 1, 1, windows[i]);
            Assert.AreEqual(windows[i].Average(), a, 1e-12, $"window {i}: location");
            Assert.AreEqual(expected[i], b, 1e-12, $"window {i}: scale");
        }

        // With a relative floor (models fitted since 2026-12-07) the unit is the training target's deviation below 1:
        // the same flat window at 0.2 floors at 1e-3 x max(0.2, 0.05) = 2e-4, and one of 1e-9 at 1e-3 x 1e-8.
        Assert.AreEqual(0.05, LmuForecastModel.FloorUnit(relative: true, 0.05));
        Assert.AreEqual(1, LmuForecastModel.FloorUnit(relative: true, 40), "data in units of 1 or more keep the floor they had");
        Assert.AreEqual(1, LmuForecastModel.FloorUnit(relative: false, 0.05), "models fitted before keep theirs");
        Assert.AreEqual(2e-4, LmuForecastModel.TargetScaling(LmuForecastScaling.PerWindow, 0, 0.05, 0.05, windows[1]).Scale, 1e-18);
        Assert.AreEqual(1e-11, LmuForecastModel.TargetScaling(LmuForecastScaling.PerWindow, 0, 1e-8, 1e-8, [1e-9, 1e-9, 1e-9]).Scale, 1e-25);
    }

    [TestMethod]
    public void TheRelativeFloorIsWrittenAndModelsWithoutItReadAsWritten()
    {
        var old = ForecastTestModels.Create(HiddenCell.Dense, 1, LmuForecastScaling.PerWindow);
        var relative = new LmuForecastModel
        {
            Network = old.Network, WindowSize = old.WindowSize, Horizon = old.Horizon, WindowColumn = old.WindowColumn,
            CovariateColumns = old.CovariateColumns, ForecastColumn = old.ForecastColumn, LowerBoundColumn = old.LowerBoundColumn,
            UpperBoundColumn = old.UpperBoundColumn, Scaling = old.Scaling, RelativeScaleFloor = true, Location = old.Location,
            Scale = [0.25, .. old.Scale[1..]], ConfidenceLevel = old.ConfidenceLevel, LowerOffsets = old.LowerOffsets, UpperOffsets = old.UpperOffsets,
        };
        LmuForecastModel RoundTrip(LmuForecastModel m) => LmuForecastModel.Read(new BinaryReader(new MemoryStream(m.ToBytes())));

        var back = RoundTrip(relative);
        Assert.IsTrue(back.RelativeScaleFloor);
        Assert.AreEqual(LmuForecastScaling.PerWindow, back.Scaling);
        Assert.AreEqual(0.25, back.ScaleFloorUnit);
        Assert.AreEqual(relative.Fingerprint, back.Fingerprint);
        var plain = RoundTrip(old);
        Assert.IsFalse(plain.RelativeScaleFloor);
        Assert.AreEqual(1, plain.ScaleFloorUnit);
        // A model without the floor writes its scaling value as models always did (4 bytes after the three names).
        CollectionAssert.AreEqual(old.ToBytes(), plain.ToBytes());
        Assert.AreNotEqual(old.Fingerprint, relative.Fingerprint);

        // Upgrade QA: a checkpoint of a relative-floor model written as format 2 was refused by format-2 readers deep
        // inside ("inconsistent: unknown scaling 257"), which reads as corruption. Its header now says format 3, which
        // they refuse as a newer format; a model without the floor keeps format 2, which they read.
        var path = Path.Combine(Path.GetTempPath(), $"lmu-format-{Guid.NewGuid():N}.engine");
        try
        {
            int HeaderFormat() => System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(File.ReadAllBytes(path).AsSpan("LMU-FORECAST-CKPT".Length));
            new LmuForecastEngine(old).CheckPoint(path);
            Assert.AreEqual(2, HeaderFormat());
            new LmuForecastEngine(relative).CheckPoint(path);
            Assert.AreEqual(3, HeaderFormat());
            Assert.IsTrue(LmuForecastEngine.Load(path).Model.RelativeScaleFloor, "this version reads format 3");
            // The typed engine's state in a model zip likewise: format 2 for such a model, 1 otherwise, and 3 is newer.
            Assert.AreEqual((1, 2), (ForecastEngineStateOnnx.FormatFor(old), ForecastEngineStateOnnx.FormatFor(relative)));
            long[] Packed(int format)
            {
                var blob = ForecastEngineStateOnnx.Encode("Value", new LmuForecastEngine(relative).ToPayload(), format);
                var packed = new long[1 + ((blob.Length + 7) / 8)];
                packed[0] = blob.Length;
                var padded = new byte[(packed.Length - 1) * 8];
                blob.CopyTo(padded, 0);
                Buffer.BlockCopy(padded, 0, packed, 8, padded.Length);
                return packed;
            }

            Assert.IsTrue(ForecastEngineStateOnnx.Decode(Packed(2), "x").Engine.Model.RelativeScaleFloor);
            StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => ForecastEngineStateOnnx.Decode(Packed(3), "'m.zip'")).Message,
                "it has format 3; this version reads formats 1 to 2. A newer version of Lmu.MLNet wrote it: upgrade Lmu.MLNet where it is read.");

            // A format above this version's says who wrote it and what to do.
            var bytes = File.ReadAllBytes(path);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan("LMU-FORECAST-CKPT".Length), 4);
            File.WriteAllBytes(path, bytes);
            StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => LmuForecastEngine.Load(path)).Message,
                "has checkpoint format 4; this version reads formats 2 to 3. A newer version of Lmu.MLNet wrote it: upgrade Lmu.MLNet where it is read.");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void CheckPointResumesWithIdenticalForecasts()
    {
        foreach (var cell in new[] { HiddenCell.Dense, HiddenCell.Lstm })
        {
            var model = ForecastTestModels.Create(cell, 1, LmuForecastScaling.PerWindow);
            var (values, covs) = ForecastTestModels.Series(120, 1);
            var engine = new LmuForecastEngine(model);
            for (var t = 0; t < 50; t++)
            {
                engine.Observe(values[t], covs[0][t]);
            }

            var path = Path.Combine(Path.GetTempPath(), $"lmu-engine-{Guid.NewGuid():N}.bin");
            try
            {
                engine.CheckPoint(path);
                var resumed = LmuForecastEngine.Load(path);
                Assert.AreEqual(50, resumed.ObservationCount);
                CollectionAssert.AreEqual(engine.Current!.Forecast, resumed.Current!.Forecast);
                for (var t = 50; t < values.Length; t++)
                {
                    var a = engine.Observe(values[t], covs[0][t])!;
                    var b = resumed.Observe(values[t], covs[0][t])!;
                    // Bit-identical: the checkpoint stores every double of the state exactly.
                    CollectionAssert.AreEqual(a.Forecast, b.Forecast, $"{cell} step {t}");
                    CollectionAssert.AreEqual(a.UpperBound, b.UpperBound, $"{cell} step {t}");
                }
            }
            finally
            {
                File.Delete(path);
            }
        }
    }

    [TestMethod]
    public void BadObservationsAndCheckpointsAreNamed()
    {
        var model = ForecastTestModels.Create(HiddenCell.Dense, 1, LmuForecastScaling.Global);
        var engine = new LmuForecastEngine(model);
        var e = Assert.ThrowsExactly<ArgumentException>(() => engine.Observe(float.NaN, 1f));
        StringAssert.Contains(e.Message, "NaN");
        e = Assert.ThrowsExactly<ArgumentException>(() => engine.Observe(1f));
        StringAssert.Contains(e.Message, "0 covariate value(s) given; the model was trained with 1 (Cov0)");
        e = Assert.ThrowsExactly<ArgumentException>(() => engine.Observe(1f, float.PositiveInfinity));
        StringAssert.Contains(e.Message, "covariate 'Cov0'");
        Assert.AreEqual(0, engine.ObservationCount, "rejected observations must not change the state");

        var path = Path.Combine(Path.GetTempPath(), $"lmu-engine-{Guid.NewGuid():N}.bin");
        try
        {
            File.WriteAllText(path, "not a checkpoint");
            Assert.ThrowsExactly<InvalidDataException>(() => LmuForecastEngine.Load(path));
            engine.CheckPoint(path);
            var bytes = File.ReadAllBytes(path);
            File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
            var t = Assert.ThrowsExactly<InvalidDataException>(() => LmuForecastEngine.Load(path));
            StringAssert.Contains(t.Message, "truncated");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
