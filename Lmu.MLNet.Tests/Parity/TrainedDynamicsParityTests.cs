using Lmu.MLNet.Forecasting;
using Lmu.MLNet.Maths;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Onnx;
using Lmu.MLNet.Tests.Forecasting;
using Lmu.MLNet.Tests.Onnx;
using Lmu.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Parity;

/// <summary>
/// After a few training steps with TrainableA/TrainableB (and theta) on, the exported ONNX graph, the float64 window
/// forward the streaming engine runs, and a fitted forecaster's engine all use the learned matrices.
/// </summary>
[TestClass]
public sealed class TrainedDynamicsParityTests
{
    [TestMethod]
    [DataRow(HiddenCell.Dense, false, "Auto")]
    [DataRow(HiddenCell.Dense, false, "Scan")]
    [DataRow(HiddenCell.None, false, "Auto")]
    [DataRow(HiddenCell.SimpleRnn, true, "Auto")]
    public void TorchOnnxAndWindowForwardAgreeAfterTrainingTheDynamics(HiddenCell cell, bool h2m, string formName)
    {
        const int steps = 30, channels = 2, rows = 6;
        var options = new LmuNetworkOptions
        {
            Layer = new LmuLayerOptions
            {
                InputSize = channels, MemoryD = 2, Order = 8, Theta = 20, HiddenCell = cell, HiddenUnits = 6, HiddenToMemory = h2m,
                InputToHidden = true, UseMemoryBias = true, TrainableA = true, TrainableB = true, TrainableTheta = true,
            },
            HeadHiddenSizes = [5], OutputSize = 3,
        };
        torch.manual_seed(21);
        using var net = new LmuNetwork(options);
        var g = new torch.Generator(4);
        var x = torch.randn([48, steps, channels], generator: g);
        var y = torch.randn([48, 3], generator: g);
        LmuTrainer.Train(net, new TensorBatchSource(x, y, 8, true, 2), null, LmuLoss.MeanSquaredError,
            new LmuTrainingOptions { Epochs = 2, LearningRate = 0.02, Seed = 3 });
        net.eval();

        var spec = net.ToSpec(steps);
        var legendre = DiscreteLegendreSystem.Create(8, net.Layer.Dynamics.Theta, LmuDiscretizer.Zoh);
        double moved = spec.Layers[0].Ad.Zip(SquareMatrix.Flatten(legendre.Ad), (a, b) => Math.Abs(a - b)).Max();
        Assert.IsTrue(moved > 1e-4, $"training did not move Ad away from the Legendre system ({moved:E2}): the test would prove nothing");

        var probe = x.narrow(0, 0, rows);
        Tensor logits;
        using (torch.no_grad()) logits = net.forward(probe);
        var expected = logits.data<float>().ToArray();
        var flat = probe.reshape(rows, -1).data<float>().ToArray();
        var bytes = LmuOnnxExporter.Export(spec, new LmuOnnxExportOptions { Form = Enum.Parse<LmuOnnxForm>(formName) });
        var onnx = OnnxRunner.Run(bytes, "Features", flat, steps * channels, "Output")["Output"];
        double worst = expected.Zip(onnx, (a, b) => Math.Abs(a - b)).Max();
        Assert.IsTrue(worst < 1e-4, $"{cell} {formName}: max |torch - onnx| = {worst:E2}");

        for (int r = 0; r < rows; r++)
        {
            var window = flat.Skip(r * steps * channels).Take(steps * channels).Select(v => (double)v).ToArray();
            var w = LmuWindowForward.Run(spec, window);
            for (int o = 0; o < 3; o++)
                Assert.AreEqual(expected[r * 3 + o], w[o], 1e-4, $"{cell}: row {r} output {o}, torch vs the engine's float64 window forward");
        }
    }

    [TestMethod]
    public void AFittedForecastersEngineRunsTheLearnedMatrices()
    {
        const int window = 24, horizon = 3;
        var rng = new Random(5);
        var values = Enumerable.Range(0, 260).Select(t => (float)(20 + 8 * Math.Sin(2 * Math.PI * t / 12) + rng.NextDouble())).ToArray();
        var ml = new MLContext(1);
        var options = new LmuForecastingOptions
        {
            SeriesColumnName = "Value", WindowSize = window, Horizon = horizon,
            Layer = new LmuLayerOptions { Order = 8, Theta = window, HiddenCell = HiddenCell.Dense, HiddenUnits = 8, TrainableA = true, TrainableB = true },
            Training = new LmuTrainingOptions { Epochs = 3, BatchSize = 16, LearningRate = 1e-2, Seed = 5 },
        };
        using var model = ml.Forecasting.ForecastByLmu(options).Fit(SeriesView.Create(ml, values[..200], []));
        var engine = model.CreateEngine();
        var layer = engine.Model.Network.Layers[0];
        var legendre = DiscreteLegendreSystem.Create(8, window, LmuDiscretizer.Zoh);
        double moved = layer.Ad.Zip(SquareMatrix.Flatten(legendre.Ad), (a, b) => Math.Abs(a - b)).Max();
        Assert.IsTrue(moved > 1e-4, $"the engine's Ad is the Legendre one ({moved:E2} apart)");

        var test = values[180..];
        var scored = model.Transform(LmuForecastWindows.FromSeries(SeriesView.Create(ml, test, []), "Value", window, 1, []));
        var forecasts = scored.GetColumn<float[]>("Forecast").ToArray();
        int row = 0;
        for (int t = 0; t < test.Length - 1; t++)
        {
            var f = engine.Observe(test[t], []);
            if (f is null) continue;
            for (int h = 0; h < horizon; h++)
                Assert.AreEqual(forecasts[row][h], f.Forecast[h], 1e-3, $"row {row} h {h}: engine vs the saved ONNX graph");
            row++;
        }
        Assert.AreEqual(forecasts.Length, row);
    }
}
