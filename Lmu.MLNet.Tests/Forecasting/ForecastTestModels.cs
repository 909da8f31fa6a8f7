using Lmu.MLNet.Network;
using Lmu.MLNet.Forecasting;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Onnx;
using Lmu.MLNet.Tests.Onnx;

namespace Lmu.MLNet.Tests.Forecasting;

/// <summary>Hand-made forecast models with random weights (no training), and a test series.</summary>
internal static class ForecastTestModels
{
    public const int Window = 12;
    public const int Horizon = 3;

    /// <param name="stacked">Hidden cells of further layers (a stack), each reading the previous layer's output.</param>
    public static LmuForecastModel Create(
        HiddenCell cell, int covariates, LmuForecastScaling scaling, bool bounds = true, int seed = 7, bool encoder = true, params HiddenCell[] stacked)
        => Create(cell, covariates, scaling, bounds, seed, encoder, hiddenToMemory: true, denseToMemory: false, stacked: stacked);

    /// <param name="hiddenToMemory">Whether a SimpleRnn first layer feeds its hidden state to the memory (false: a feed-forward memory).</param>
    /// <param name="denseToMemory">Whether a Dense first layer feeds its output to the memory too (with <paramref name="hiddenToMemory"/>).</param>
    public static LmuForecastModel Create(
        HiddenCell cell, int covariates, LmuForecastScaling scaling, bool bounds, int seed, bool encoder, bool hiddenToMemory, bool denseToMemory = false,
        params HiddenCell[] stacked)
    {
        var rng = new Random(seed);
        float[] R(int n, double s = 0.4) => Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() * 2 - 1) * s)).ToArray();
        int c = 1 + covariates, d = encoder ? 3 : c, q = 5, units = 6;
        var (ad, bd) = SpecSystem.Create(q, Window * 0.8, zoh: true);
        var gates = cell switch { HiddenCell.Lstm => 4, HiddenCell.Gru => 3, _ => 1 };
        var zWidth = d * q + c;
        var layer = new LmuLayerSpec
        {
            InputSize = c, MemoryD = d, Order = q, Ad = ad, Bd = bd,
            Ex = encoder ? R(c * d) : null, Bu = R(d, 0.2),
            Eh = hiddenToMemory && (cell is HiddenCell.SimpleRnn || (cell is HiddenCell.Dense && denseToMemory)) ? R(units * d, 0.2) : null,
            InputToHidden = true, Hidden = cell, Units = cell == HiddenCell.None ? 0 : units,
            HiddenInput = cell == HiddenCell.None ? null : new DenseSpec { In = zWidth, Out = gates * units, W = R(zWidth * gates * units), B = R(gates * units, 0.1), Activation = LmuActivation.Tanh },
            HiddenRecurrent = cell is HiddenCell.None or HiddenCell.Dense ? null : new DenseSpec { In = units, Out = gates * units, W = R(units * gates * units), B = R(gates * units, 0.1) },
        };
        var width = cell == HiddenCell.None ? zWidth : units;
        var layers = new List<LmuLayerSpec> { layer };
        foreach (var next in stacked)
        {
            // A smaller layer over the previous one's outputs; recurrent memory on a SimpleRnn layer, as in the first.
            int d2 = 2, q2 = 4, u2 = 5, g2 = LmuLayerSpec.GatesOf(next), z2 = d2 * q2 + width;
            var (ad2, bd2) = SpecSystem.Create(q2, Window * 0.6, zoh: true);
            layers.Add(new LmuLayerSpec
            {
                InputSize = width, MemoryD = d2, Order = q2, Ad = ad2, Bd = bd2, Ex = R(width * d2), Bu = R(d2, 0.2),
                Eh = next is HiddenCell.SimpleRnn ? R(u2 * d2, 0.2) : null,
                InputToHidden = true, Hidden = next, Units = next == HiddenCell.None ? 0 : u2,
                HiddenInput = next == HiddenCell.None ? null : new DenseSpec { In = z2, Out = g2 * u2, W = R(z2 * g2 * u2), B = R(g2 * u2, 0.1), Activation = LmuActivation.Tanh },
                HiddenRecurrent = next is HiddenCell.None or HiddenCell.Dense ? null : new DenseSpec { In = u2, Out = g2 * u2, W = R(u2 * g2 * u2), B = R(g2 * u2, 0.1) },
            });
            width = next == HiddenCell.None ? z2 : u2;
        }

        var spec = new LmuNetworkSpec
        {
            SequenceLength = Window,
            Layers = layers,
            Head = [new DenseSpec { In = width, Out = 5, W = R(width * 5), B = R(5, 0.1), Activation = LmuActivation.Relu },
                    new DenseSpec { In = 5, Out = Horizon, W = R(5 * Horizon), B = R(Horizon, 0.1) }],
        };
        return new LmuForecastModel
        {
            Network = spec, WindowSize = Window, Horizon = Horizon, WindowColumn = "Window",
            CovariateColumns = Enumerable.Range(0, covariates).Select(i => $"Cov{i}").ToArray(),
            ForecastColumn = "Forecast", LowerBoundColumn = bounds ? "Lower" : null, UpperBoundColumn = bounds ? "Upper" : null,
            Scaling = scaling,
            Location = Enumerable.Range(0, c).Select(i => 100.0 + 3 * i).ToArray(),
            Scale = Enumerable.Range(0, c).Select(i => 20.0 + i).ToArray(),
            ConfidenceLevel = 0.9,
            LowerOffsets = bounds ? [-0.5, -0.7, -0.9] : null,
            UpperOffsets = bounds ? [0.4, 0.6, 0.8] : null,
        };
    }

    /// <summary>A seasonal series with a level around 100 and covariates, float values as the engine receives them.</summary>
    /// <summary>
    /// Saves <paramref name="model"/> as versions before 0.4.0 saved a fitted forecaster: the ONNX scorer alone, without
    /// the start-of-stream engine (what LmuForecastEstimator.CreateChain was then).
    /// </summary>
    public static void SaveAsBefore040(Microsoft.ML.MLContext ml, LmuForecastModel model, string path)
    {
        var inputs = new[] { model.WindowColumn }.Concat(model.CovariateColumns).ToList();
        var outputs = new List<string> { model.ForecastColumn };
        if (model.HasBounds)
        {
            outputs.Add(model.LowerBoundColumn!);
            outputs.Add(model.UpperBoundColumn!);
        }

        var schemaOnly = new FloatColumnsDataView(inputs.Select(n => (n, model.WindowSize, Array.Empty<float[]>())).ToList());
        using var chain = OnnxCarrier.Create(ml, model.ToOnnx(), schemaOnly, inputs, outputs);
        ml.Model.Save(chain, schemaOnly.Schema, path);
    }

    public static (float[] Values, float[][] Covariates) Series(int n, int covariates, int seed = 3)
    {
        var rng = new Random(seed);
        var values = Enumerable.Range(0, n).Select(t => (float)(100 + 30 * Math.Sin(t * 0.4) + 0.2 * t + rng.NextDouble() * 5)).ToArray();
        var covs = Enumerable.Range(0, covariates)
            .Select(k => Enumerable.Range(0, n).Select(t => (float)((t + k) % 7)).ToArray()).ToArray();
        return (values, covs);
    }

    /// <summary>Scaled window of raw values ending at <paramref name="end"/>, time-major, as the model defines it.</summary>
    public static double[] ScaledWindow(LmuForecastModel m, float[] values, float[][] covs, int end, out double a0, out double b0)
    {
        var start = end - m.WindowSize + 1;
        var target = values.Skip(start).Take(m.WindowSize).Select(v => (double)v).ToArray();
        (a0, b0) = m.TargetScaling(target);
        var c = m.Channels;
        var x = new double[m.WindowSize * c];
        for (var t = 0; t < m.WindowSize; t++)
        {
            x[t * c] = (target[t] - a0) / b0;
            for (var k = 1; k < c; k++)
            {
                x[t * c + k] = (covs[k - 1][start + t] - m.Location[k]) / m.Scale[k];
            }
        }

        return x;
    }
}
