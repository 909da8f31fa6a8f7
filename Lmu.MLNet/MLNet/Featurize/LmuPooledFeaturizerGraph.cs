using Lmu.MLNet.Onnx;

namespace Lmu.MLNet.Featurize;

/// <summary>
/// The pooled featurizer's ONNX graph, one row per run. Every memory state of every window at every step is a causal
/// convolution of the row with that window's impulse response (<c>m_t = sum_tau H[tau] u[t - tau]</c>), so one grouped
/// Conv computes all of them at once (no step-by-step recurrence); one batched MatMul projects them; the pooling is a
/// count and a max over time.
/// </summary>
internal static class LmuPooledFeaturizerGraph
{
    /// <summary>Stands in for minus infinity on padded steps before the max (a float32 that no real value reaches).</summary>
    private const float Lowest = -3.0e38f;

    /// <summary>Names and shape of one graph; with <c>ChannelMajor</c> the input row is [C, T] (each channel's steps one after another), not [T, C].</summary>
    public sealed record Spec(string InputName, string? LengthName, string OutputName, LmuPooledKernelSet Kernels, bool ChannelMajor = false)
    {
        /// <summary>The graph of a fit with <paramref name="options"/>: Fit and the standalone export build it alike.</summary>
        public static Spec For(LmuPooledFeaturizerOptions options, string outputName, LmuPooledKernelSet kernels) =>
            new(options.InputColumnName, options.LengthColumnName, outputName, kernels, options.InputLayout == Classification.LmuInputLayout.ChannelMajor);
    }

    /// <summary>The ONNX model bytes.</summary>
    public static byte[] Build(Spec s)
    {
        var k = s.Kernels;
        int t = k.Steps, c = k.Channels, q = k.Order, windows = k.Windows, p = k.Projections;
        var g = new OnnxGraphBuilder("lmu_pooled_featurize");
        g.Input(s.InputName, OnnxElementType.Float, (long)t * c);
        // Channel-major rows are transposed once here; the rest of the graph reads [T, C].
        var x = s.ChannelMajor && c > 1
            ? g.Op("Transpose", [g.Op("Reshape", [s.InputName, g.Int64s("shape", c, t)])], OnnxAttribute.Ints("perm", 1, 0))
            : g.Op("Reshape", [s.InputName, g.Int64s("shape", t, c)]);
        string? mask = null;
        string? count = null;
        if (s.LengthName is not null)
        {
            g.Input(s.LengthName, OnnxElementType.Float, 1L, 1L);
            (x, mask, count) = LmuFeaturizerGraph.RightAlign(g, x, s.LengthName, t);
        }

        x = LmuFeaturizerGraph.Normalize(g, x, k.Normalization, mask, count, t, c);

        // [T, C] -> [1, C, T]; Conv with group = C applies channel c's block of windows*q kernels to channel c only.
        x = g.Op("Unsqueeze", [g.Op("Transpose", [x], OnnxAttribute.Ints("perm", 1, 0)), g.Int64s("axes", 0)]);
        var memory = g.Op(
            "Conv",
            [x, g.Floats("memory_kernels", ConvolutionKernels(k), (long)c * windows * q, 1, t)],
            OnnxAttribute.Int("group", c),
            OnnxAttribute.Ints("kernel_shape", t),
            // Causal and from a zero state: T-1 zeros before the first step, none after the last.
            OnnxAttribute.Ints("pads", t - 1, 0));                                             // [1, C*G*q, T]
        memory = g.Op("Reshape", [memory, g.Int64s("shape", c, windows, q, t)]);
        memory = g.Op("Transpose", [memory], OnnxAttribute.Ints("perm", 1, 0, 2, 3));          // [G, C, q, T]
        memory = g.Op("Reshape", [memory, g.Int64s("shape", windows, (long)c * q, t)]);
        var z = g.Op("MatMul", [g.Floats("projections", ProjectionWeights(k), windows, p, (long)c * q), memory]); // [G, P, T]
        z = g.Op("Add", [z, g.Floats("biases", Biases(k), windows, p, 1)]);

        string? stepMask = mask is null ? null : g.Op("Reshape", [mask, g.Int64s("shape", 1, 1, t)]);
        var positive = g.Op("Cast", [g.Op("Greater", [z, g.Floats("zero", [0f], 1)])], OnnxAttribute.Int("to", (long)OnnxElementType.Float));
        if (stepMask is not null)
        {
            positive = g.Op("Mul", [positive, stepMask]);
        }

        // The count is a MatMul with ones (a sum of 0/1 values, exact in float32 at any order), not ReduceSum, for
        // the same bit-for-bit reason as the normalisation (see LmuFeaturizerGraph.Normalize).
        var counted = g.Op("MatMul", [g.Op("Reshape", [positive, g.Int64s("shape", (long)windows * p, t)]),
            g.Floats("ones_steps", Enumerable.Repeat(1f, t).ToArray(), t, 1)]);            // [G*P, 1]
        var divisor = count is null
            ? g.Floats("steps", [t], 1)
            : g.Op("Max", [count, g.Floats("one", [1f], 1)]);
        var proportion = g.Op("Reshape", [g.Op("Div", [counted, divisor]), g.Int64s("shape", (long)windows * p)]);

        if (stepMask is not null)
        {
            var valid = g.Op("Greater", [stepMask, g.Floats("half", [0.5f], 1)]);
            z = g.Op("Where", [valid, z, g.Floats("lowest", [Lowest], 1)]);
        }

        // Max is exact whatever the order, so ReduceMax is deterministic.
        var max = g.Op("ReduceMax", [z], OnnxAttribute.Ints("axes", 2), OnnxAttribute.Int("keepdims", 0));
        max = g.Op("Reshape", [max, g.Int64s("shape", (long)windows * p)]);
        if (count is not null)
        {
            // A row with no valid step gives zeros (as its proportions are), not the stand-in for minus infinity.
            max = g.Op("Where", [g.Op("Greater", [count, g.Floats("half", [0.5f], 1)]), max, g.Floats("zero", [0f], 1)]);
        }

        var output = g.Op("Concat", [proportion, max], OnnxAttribute.Int("axis", 0));
        g.Add("Identity", [output], [s.OutputName], []);
        g.Output(s.OutputName, OnnxElementType.Float, (long)k.OutputSize);
        return OnnxModelWriter.Write(g.Graph);
    }

    /// <summary>
    /// Conv weights [C*G*q, 1, T]: output channel <c>(c*G + g)*q + i</c> is coefficient i of window g on channel c, and
    /// its tap s multiplies input step <c>t - (T-1-s)</c>, so tap s holds <c>H_g[T-1-s, i]</c>.
    /// </summary>
    private static float[] ConvolutionKernels(LmuPooledKernelSet k)
    {
        int t = k.Steps, q = k.Order, windows = k.Windows;
        var w = new float[k.Channels * windows * q * t];
        for (var g = 0; g < windows; g++)
        {
            var h = k.Systems[g].ImpulseResponse(t);
            for (var c = 0; c < k.Channels; c++)
            {
                for (var i = 0; i < q; i++)
                {
                    var row = (((c * windows) + g) * q) + i;
                    for (var s = 0; s < t; s++)
                    {
                        w[(row * t) + s] = (float)h[t - 1 - s, i];
                    }
                }
            }
        }

        return w;
    }

    private static float[] ProjectionWeights(LmuPooledKernelSet k)
    {
        var width = k.Channels * k.Order;
        var w = new float[k.Windows * k.Projections * width];
        var n = 0;
        for (var g = 0; g < k.Windows; g++)
        {
            for (var j = 0; j < k.Projections; j++)
            {
                for (var i = 0; i < width; i++)
                {
                    w[n++] = (float)k.Weights[g, j, i];
                }
            }
        }

        return w;
    }

    private static float[] Biases(LmuPooledKernelSet k)
    {
        var b = new float[k.Windows * k.Projections];
        for (var g = 0; g < k.Windows; g++)
        {
            for (var j = 0; j < k.Projections; j++)
            {
                b[(g * k.Projections) + j] = (float)k.Biases[g, j];
            }
        }

        return b;
    }
}
