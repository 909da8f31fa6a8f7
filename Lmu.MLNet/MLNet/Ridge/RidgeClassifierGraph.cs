using Lmu.MLNet.Onnx;

namespace Lmu.MLNet.MLNet;

/// <summary>
/// The fitted ridge classifier as ONNX, one row per run: the standardisation folded into the weights
/// (<c>w'_f = w_f / std_f</c>, <c>b' = mean_y - sum_f mean_f w'_f</c>), one MatMul, then the shared classifier outputs.
/// </summary>
internal static class RidgeClassifierGraph
{
    /// <summary>The ONNX model bytes.</summary>
    /// <param name="featureName">Input column (a [p] vector).</param>
    /// <param name="weights">Folded weights [p, k].</param>
    /// <param name="bias">Folded bias [k].</param>
    /// <param name="outputs">Score / predicted-class names and the class names.</param>
    public static byte[] Build(string featureName, double[,] weights, double[] bias, LmuOnnxClassifierOutputs outputs)
    {
        int p = weights.GetLength(0), k = weights.GetLength(1);
        var g = new OnnxGraphBuilder("ridge_classifier");
        g.Input(featureName, OnnxElementType.Float, (long)p);
        var x = g.Op("Reshape", [featureName, g.Int64s("shape", 1, p)]);
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
