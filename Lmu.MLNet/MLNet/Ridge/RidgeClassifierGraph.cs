using Lmu.MLNet.Onnx;

namespace Lmu.MLNet.Ridge;

/// <summary>
/// The fitted ridge classifier as ONNX, one row per run: subtract the training means, one MatMul with the weights
/// divided by the training standard deviations, add the targets' means, then the shared classifier outputs.
/// </summary>
internal static class RidgeClassifierGraph
{
    /// <summary>The ONNX model bytes.</summary>
    /// <param name="featureName">Input column (a [p] vector).</param>
    /// <param name="means">Training mean of each feature [p].</param>
    /// <param name="weights">Weights on the centred features [p, k] (the scale folded in).</param>
    /// <param name="bias">Bias [k].</param>
    /// <param name="outputs">Score / predicted-class names and the class names.</param>
    public static byte[] Build(string featureName, double[] means, double[,] weights, double[] bias, LmuOnnxClassifierOutputs outputs)
    {
        int p = weights.GetLength(0), k = weights.GetLength(1);
        var g = new OnnxGraphBuilder("ridge_classifier");
        g.Input(featureName, OnnxElementType.Float, (long)p);
        var x = g.Op("Reshape", [featureName, g.Int64s("shape", 1, p)]);
        // The mean as a float32 pair hi + lo: x - hi is exact when x is near hi (Sterbenz), so a feature whose spread is
        // below float32's resolution of its mean still centres correctly; a single rounded mean would err by half an ulp.
        var hi = means.Select(v => (float)v).ToArray();
        var lo = means.Select((v, i) => (float)(v - hi[i])).ToArray();
        x = g.Op("Sub", [g.Op("Sub", [x, g.Floats("means_hi", hi, 1, p)]), g.Floats("means_lo", lo, 1, p)]);
        var w = new float[p * k];
        for (var f = 0; f < p; f++)
        {
            for (var c = 0; c < k; c++)
            {
                w[(f * k) + c] = (float)weights[f, c];
            }
        }

        var logits = g.Op("MatMul", [x, g.Floats("weights", w, p, k)]);
        logits = g.Op("Add", [logits, g.Floats("bias", bias.Select(v => (float)v).ToArray(), 1, k)]);  // [1, K]
        LmuOnnxClassifierHead.Build(g, new LmuOnnxOutputPublisher(g, batchAxis: false), logits, k, outputs);
        return OnnxModelWriter.Write(g.Graph);
    }
}
