using Lmu.MLNet.Forecasting;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Tests.Modules;
using Lmu.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;
using static Lmu.MLNet.Tests.Modules.LayerTestHelpers;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Forecasting;

/// <summary>
/// The forecaster over stacks: the ONNX graph it carries against TorchSharp (1e-4), the streaming engine against the
/// float64 window forward and the saved graph at every step, checkpoints of a stack, the refusal of a checkpoint whose
/// model has another number of layers, and a fitted stacked forecaster streaming as it scores.
/// </summary>
[TestClass]
public sealed class ForecastStackTests
{
    private string _dir = null!;

    [TestInitialize]
    public void NewDir()
    {
        _dir = Path.Combine(Path.GetTempPath(), $"lmu-stack-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dir);
    }

    [TestCleanup]
    public void RemoveDir() => Directory.Delete(_dir, recursive: true);

    public static IEnumerable<object[]> Stacks() =>
    [
        [HiddenCell.Dense, 1, LmuForecastScaling.PerWindow, new[] { HiddenCell.SimpleRnn }],
        [HiddenCell.None, 0, LmuForecastScaling.Global, new[] { HiddenCell.Lstm, HiddenCell.Dense }],
    ];

    [TestMethod]
    [DynamicData(nameof(Stacks))]
    public void TheEngineOnAStackMatchesTheWindowForwardAndTheSavedGraph(HiddenCell first, int covariates, LmuForecastScaling scaling, HiddenCell[] stacked)
    {
        var model = ForecastTestModels.Create(first, covariates, scaling, stacked: stacked);
        Assert.HasCount(1 + stacked.Length, model.Network.Layers);
        var (values, covs) = ForecastTestModels.Series(60, covariates);
        var ml = new MLContext(1);
        using var chain = LmuForecastEstimator.CreateChain(ml, model);
        var windows = LmuForecastWindows.FromSeries(SeriesView.Create(ml, values, covs), "Value", model.WindowSize, 1, model.CovariateColumns);
        var forecasts = chain.Transform(windows).GetColumn<float[]>("Forecast").ToArray();
        var engine = new LmuForecastEngine(model);
        Assert.IsFalse(engine.SlidesState, "a stack re-runs the window");
        var row = 0;
        for (var t = 0; t < values.Length - 1; t++)
        {
            var f = engine.Observe(values[t], covs.Select(c => c[t]).ToArray());
            if (f is null)
            {
                continue;
            }

            var x = ForecastTestModels.ScaledWindow(model, values, covs, t, out var a0, out var b0);
            var y = LmuWindowForward.Run(model.Network, x);
            for (var h = 0; h < model.Horizon; h++)
            {
                Assert.AreEqual((float)(a0 + b0 * y[h]), f.Forecast[h], 2e-5 * Math.Abs(a0 + b0 * y[h]) + 1e-5, $"step {t} h {h}: engine vs float64 forward");
                // float32 graph vs float64 engine, values ~100 (as the single-layer engine test).
                Assert.AreEqual(f.Forecast[h], forecasts[row][h], 1e-3, $"row {row} h {h}: engine vs saved graph");
            }

            row++;
        }

        Assert.AreEqual(forecasts.Length, row);
    }

    [TestMethod]
    [DataRow(2)]
    [DataRow(3)]
    public void TheForecastersGraphEqualsTheTorchStack(int layers)
    {
        // Identity scaling (location 0, scale 1), so the graph's forecast is the network's raw output.
        const int window = 16, horizon = 3;
        var options = StackConfigs.Network(layers, channels: 2, outputs: horizon);
        using var net = new LmuNetwork(options);
        Randomise(net, 23, 0.4);
        net.eval();
        var model = new LmuForecastModel
        {
            Network = net.ToSpec(window), WindowSize = window, Horizon = horizon, WindowColumn = "Window", CovariateColumns = ["Cov0"],
            ForecastColumn = "Forecast", Scaling = LmuForecastScaling.Global, Location = [0, 0], Scale = [1, 1],
        };
        var rng = new Random(5);
        var values = Enumerable.Range(0, 40).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var cov = Enumerable.Range(0, 40).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var ml = new MLContext(1);
        using var chain = LmuForecastEstimator.CreateChain(ml, model);
        var scored = chain.Transform(LmuForecastWindows.FromSeries(SeriesView.Create(ml, values, [cov]), "Value", window, 1, ["Cov0"]));
        var onnx = scored.GetColumn<float[]>("Forecast").ToArray();
        var n = onnx.Length;
        var x = new float[n * window * 2];
        for (var r = 0; r < n; r++)
        {
            for (var t = 0; t < window; t++)
            {
                x[(r * window + t) * 2] = values[r + t];
                x[(r * window + t) * 2 + 1] = cov[r + t];
            }
        }

        using var input = torch.tensor(x, new long[] { n, window, 2 });
        float[] expected;
        using (torch.no_grad())
        {
            using var y = net.forward(input);
            expected = y.data<float>().ToArray();
        }

        var worst = onnx.SelectMany(f => f).Zip(expected, (a, b) => Math.Abs(a - b)).Max();
        Bound.Below(1e-4, worst, $"{layers} layers: max |torch - forecaster graph| = {worst:E2}");
    }

    [TestMethod]
    public void AStackCheckpointResumesBitIdenticallyAndAnotherLayerCountIsRefused()
    {
        var stack = ForecastTestModels.Create(HiddenCell.Dense, 1, LmuForecastScaling.PerWindow, stacked: [HiddenCell.SimpleRnn]);
        var single = ForecastTestModels.Create(HiddenCell.Dense, 1, LmuForecastScaling.PerWindow);
        var (values, covs) = ForecastTestModels.Series(80, 1);
        var engine = new LmuForecastEngine(stack);
        for (var t = 0; t < 30; t++)
        {
            engine.Observe(values[t], covs[0][t]);
        }

        var path = Path.Combine(_dir, "stack.ckpt");
        engine.CheckPoint(path);
        using var stackTransformer = ForecastTimeSeriesEngineTests.Transformer(stack);
        var resumed = stackTransformer.ResumeEngine(path);
        Assert.AreEqual(engine.ModelFingerprint, resumed.ModelFingerprint);
        Assert.HasCount(2, resumed.Model.Network.Layers);
        for (var t = 30; t < values.Length; t++)
        {
            CollectionAssert.AreEqual(engine.Observe(values[t], covs[0][t])!.Forecast, resumed.Observe(values[t], covs[0][t])!.Forecast, $"step {t}");
        }

        // The one-layer model with the same first layer and head must not resume the stack's stream, nor the reverse.
        using var singleTransformer = ForecastTimeSeriesEngineTests.Transformer(single);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => singleTransformer.ResumeEngine(path));
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, "The checkpoint's model has 2 LMU layers; this model has 1 LMU layer.");
        var singlePath = Path.Combine(_dir, "single.ckpt");
        new LmuForecastEngine(single).CheckPoint(singlePath);
        e = Assert.ThrowsExactly<InvalidDataException>(() => stackTransformer.ResumeEngine(singlePath));
        StringAssert.Contains(e.Message, "The checkpoint's model has 1 LMU layer; this model has 2 LMU layers.");

        // A stack's layers are part of its fingerprint: dropping the second layer's recurrent weights' last ulp changes it.
        var bytes = stack.ToBytes();
        Assert.IsGreaterThan(single.ToBytes().Length, bytes.Length, "the stack writes its further layers");
        using var reader = new BinaryReader(new MemoryStream(bytes));
        var copy = LmuForecastModel.Read(reader);
        Assert.AreEqual(bytes.Length, reader.BaseStream.Position, "the whole model is read back");
        Assert.AreEqual(stack.Fingerprint, copy.Fingerprint);
    }

    [TestMethod]
    public void AFittedStackForecasterStreamsWhatItScores()
    {
        var ml = new MLContext(1);
        var (values, covs) = ForecastTestModels.Series(120, 1);
        var options = new LmuForecastingOptions
        {
            SeriesColumnName = "Value", CovariateColumnNames = ["Cov0"], WindowSize = 16, Horizon = 4, Scaling = LmuForecastScaling.PerWindow,
            LowerBoundColumnName = "Lower", UpperBoundColumnName = "Upper",
            Layers =
            [
                new LmuLayerOptions { MemoryD = 2, Order = 8, Theta = 16, HiddenCell = HiddenCell.Dense, HiddenUnits = 8, InputToHidden = true },
                new LmuLayerOptions { Order = 6, Theta = 16, HiddenCell = HiddenCell.SimpleRnn, HiddenUnits = 6, HiddenToMemory = true },
            ],
            Training = new LmuTrainingOptions { Epochs = 2, BatchSize = 32, Seed = 3 },
        };
        using var model = ml.Forecasting.ForecastByLmu(options).Fit(SeriesView.Create(ml, values, covs));
        Assert.HasCount(2, model.Model.Network.Layers);
        Assert.AreEqual(8, model.Model.Network.Layers[1].InputSize, "layer 1 reads layer 0's 8 outputs");
        var rows = SeriesView.Create(ml, values, covs);
        var batch = LmuForecastWindows.Score(model, rows, "Value").GetColumn<float[]>("Forecast").ToArray();
        var engine = model.CreateTimeSeriesEngine<ForecastTimeSeriesEngineTests.Observation, ForecastTimeSeriesEngineTests.Prediction>(ml);
        for (var t = 0; t < 70; t++)
        {
            var p = engine.Predict(ForecastTimeSeriesEngineTests.Observation.At(values, covs, t));
            for (var h = 0; h < 4; h++)
            {
                if (t < 15)
                {
                    Assert.IsTrue(float.IsNaN(p.Forecast[h]) && float.IsNaN(batch[t][h]), $"step {t}: no forecast before a full window");
                    continue;
                }

                // The float64 engine against the float32 graph the zip carries.
                Assert.AreEqual(batch[t][h], p.Forecast[h], 1e-4 * Math.Abs(batch[t][h]) + 1e-3, $"step {t} h {h}");
            }
        }

        var zip = Path.Combine(_dir, "stream.zip");
        engine.CheckPoint(ml, zip);
        var resumed = LmuForecastTimeSeriesEngine.Load<ForecastTimeSeriesEngineTests.Observation, ForecastTimeSeriesEngineTests.Prediction>(new MLContext(9), zip);
        for (var t = 70; t < values.Length; t++)
        {
            var expected = engine.Predict(ForecastTimeSeriesEngineTests.Observation.At(values, covs, t));
            var actual = resumed.Predict(ForecastTimeSeriesEngineTests.Observation.At(values, covs, t));
            CollectionAssert.AreEqual(expected.Forecast, actual.Forecast, $"step {t}: resumed from the zip");
        }

        // The zip is an ordinary model: loaded with ML.NET alone it scores the window layout as the fitted model does.
        var windows = LmuForecastWindows.FromSeries(rows, "Value", 16, 4, ["Cov0"]);
        var loaded = ml.Model.Load(zip, out _);
        CollectionAssert.AreEqual(
            model.Transform(windows).GetColumn<float[]>("Forecast").SelectMany(f => f).ToArray(),
            loaded.Transform(windows).GetColumn<float[]>("Forecast").SelectMany(f => f).ToArray());
    }

    [TestMethod]
    public void ACheckpointWrittenBeforeStacksStillResumes()
    {
        // Written by the library before Layers existed (Data/Legacy/engine-before-stacks/README.md): a one-layer model
        // serialises as it did, so the fingerprint it recorded is this model's and the stream resumes bit-identically.
        var path = Path.Combine(AppContext.BaseDirectory, "Data", "Legacy", "engine-before-stacks", "single-layer.ckpt");
        var model = ForecastTestModels.Create(HiddenCell.Dense, 1, LmuForecastScaling.PerWindow);
        Assert.AreEqual("188bfb037bcb1aff3919cad35421d3243bb186cd001d27d2793d750816f66ebd", model.Fingerprint);
        using var transformer = ForecastTimeSeriesEngineTests.Transformer(model);
        var resumed = transformer.ResumeEngine(path);
        Assert.AreEqual(40, resumed.ObservationCount);
        CollectionAssert.AreEqual(new[] { 1122542247, 1123054135, 1122581157 }, resumed.Current!.Forecast.Select(BitConverter.SingleToInt32Bits).ToArray());
        var (values, covs) = ForecastTestModels.Series(60, 1);
        var fresh = new LmuForecastEngine(model);
        for (var t = 0; t < values.Length; t++)
        {
            var expected = fresh.Observe(values[t], covs[0][t]);
            if (t >= 40)
            {
                CollectionAssert.AreEqual(expected!.Forecast, resumed.Observe(values[t], covs[0][t])!.Forecast, $"step {t}");
            }
        }
    }

    [TestMethod]
    public void TheForecasterRefusesLayerAndLayersTogether()
    {
        var options = new LmuForecastingOptions
        {
            WindowSize = 8, Horizon = 2, Layer = new LmuLayerOptions { Order = 4 }, Layers = [new LmuLayerOptions(), new LmuLayerOptions()],
        };
        var e = Assert.ThrowsExactly<ArgumentException>(options.Validate);
        StringAssert.Contains(e.Message, "LmuForecastingOptions.Layers and Layer are both used");
        options.Layer = null;
        options.Validate();
        var copy = options.Clone();
        Assert.AreNotSame(options.Layers[1], copy.Layers[1]);
    }
}
