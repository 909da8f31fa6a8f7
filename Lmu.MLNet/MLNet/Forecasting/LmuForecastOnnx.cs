using Lmu.MLNet.Network;
using Lmu.MLNet.Onnx;

namespace Lmu.MLNet.Forecasting;

/// <summary>
/// The forecaster's ONNX graph, one row per run (ML.NET's OnnxTransformer): inputs the target window and one window
/// per covariate (float [T] each, oldest first); outputs the forecast and optional bounds (float [Horizon]). The
/// scaling of <see cref="LmuForecastModel"/> is written as Sub/Div nodes, so the saved model reproduces it. The
/// network between the scaling and the unscaling is <see cref="LmuOnnxNetwork"/>, the classifier's own (every layer of
/// a stack in its form).
/// </summary>
internal static class LmuForecastOnnx
{
    public static byte[] Export(LmuForecastModel model)
    {
        var spec = model.Network;
        LmuNetworkSpecValidator.Validate(spec);
        var steps = model.WindowSize;
        var g = new OnnxGraphBuilder("lmu_forecast");

        // Target channel [1, T] and its (a, b), each [1, 1].
        g.Input(model.WindowColumn, OnnxElementType.Float, (long)steps);
        var target = g.Op("Unsqueeze", [model.WindowColumn, g.Int64s("axes", 0)]);
        string loc, scale;
        if (model.Scaling == LmuForecastScaling.Global)
        {
            loc = g.Floats("loc", [(float)model.Location[0]], 1, 1);
            scale = g.Floats("scale", [(float)model.Scale[0]], 1, 1);
        }
        else
        {
            // Sums are MatMuls with a constant column of ones, not ReduceMean: ONNX Runtime's reductions gave results
            // that differed in the last bit between runs of the same row (buffer-alignment-dependent vectorisation),
            // and a saved model must score exactly as the fitted one, in any process (see LmuFeaturizerGraph).
            var ones = g.Floats("ones_steps", Enumerable.Repeat(1f, steps).ToArray(), steps, 1);
            var count = g.Floats("steps", [(float)steps], 1, 1);
            string Mean(string v) => g.Op("Div", [g.Op("MatMul", [v, ones]), count]);
            // The mean and spread are taken of the window divided by its largest magnitude (a max is exact, so the
            // bits stay the same run to run), then scaled back: the squared deviations of values from about 1e18 on
            // overflowed float32 and every forecast came out infinite (found by QA), while training and the streaming
            // engine, in float64, had no such limit. The floor keeps an all-zero window from dividing by 0.
            var magnitude = g.Op("Max", [
                g.Op("ReduceMax", [g.Op("Abs", [target])], OnnxAttribute.Ints("axes", 1), OnnxAttribute.Int("keepdims", 1)),
                g.Floats("magnitude_floor", [1e-30f], 1, 1)]);
            var unit = g.Op("Div", [target, magnitude]);
            var unitMean = Mean(unit);
            var unitCentred = g.Op("Sub", [unit, unitMean]);
            loc = g.Op("Mul", [unitMean, magnitude]);
            var std = g.Op("Mul", [g.Op("Sqrt", [Mean(g.Op("Mul", [unitCentred, unitCentred]))]), magnitude]);
            // The floor's unit: 1 (the constant is named as it always was, so a model fitted before the relative floor
            // writes the same graph), or the training target's deviation below 1 (LmuForecastModel.RelativeScaleFloor).
            var level = g.Op("Max", [g.Op("Abs", [loc]), g.Floats("one", [(float)model.ScaleFloorUnit], 1, 1)]);
            var floor = g.Op("Mul", [level, g.Floats("floor", [(float)LmuForecastModel.ScaleFloor], 1, 1)]);
            scale = g.Op("Max", [std, floor]);
        }

        var channels = new List<string> { g.Op("Div", [g.Op("Sub", [target, loc]), scale]) };
        for (var c = 0; c < model.CovariateColumns.Count; c++)
        {
            var name = model.CovariateColumns[c];
            g.Input(name, OnnxElementType.Float, (long)steps);
            var cov = g.Op("Unsqueeze", [name, g.Int64s("axes", 0)]);
            var a = g.Floats("cov_loc", [(float)model.Location[c + 1]], 1, 1);
            var b = g.Floats("cov_scale", [(float)model.Scale[c + 1]], 1, 1);
            channels.Add(g.Op("Div", [g.Op("Sub", [cov, a]), b]));
        }

        // [1, T] per channel -> [1, T, C], the network's input sequence.
        var x3 = channels.Count == 1
            ? g.Op("Unsqueeze", [channels[0], g.Int64s("axes", 2)])
            : g.Op("Concat", channels.Select(ch => g.Op("Unsqueeze", [ch, g.Int64s("axes", 2)])).ToList(), OnnxAttribute.Int("axis", 2));
        var y = LmuOnnxNetwork.Build(g, spec, x3, mask: null, valid: null, LmuOnnxForm.Auto, lastSequences: false).Output;

        var publish = new LmuOnnxOutputPublisher(g, batchAxis: false);
        var h = model.Horizon;
        publish.Float(model.ForecastColumn, Unscale(g, y, scale, loc), h);
        if (model.HasBounds)
        {
            var lo = g.Op("Add", [y, g.Floats("q_lo", model.LowerOffsets!.Select(v => (float)v).ToArray(), 1, h)]);
            var hi = g.Op("Add", [y, g.Floats("q_hi", model.UpperOffsets!.Select(v => (float)v).ToArray(), 1, h)]);
            publish.Float(model.LowerBoundColumn, Unscale(g, lo, scale, loc), h);
            publish.Float(model.UpperBoundColumn, Unscale(g, hi, scale, loc), h);
        }

        return OnnxModelWriter.Write(g.Graph);
    }

    private static string Unscale(OnnxGraphBuilder g, string y, string scale, string loc) =>
        g.Op("Add", [g.Op("Mul", [y, scale]), loc]);
}
