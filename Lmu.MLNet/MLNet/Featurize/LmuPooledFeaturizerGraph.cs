using Lmu.MLNet.Onnx;

namespace Lmu.MLNet.Featurize;

/// <summary>
/// The pooled featurizer's ONNX graph, one row per run. Every memory state of every window at every step is a causal
/// convolution of the row with that window's impulse response (<c>m_t = sum_tau H[tau] u[t - tau]</c>), so one grouped
/// Conv computes all of them at once (no step-by-step recurrence); rows from <see cref="BlockedFromSteps"/> steps take it
/// in blocks (a short Conv and the state carried per block, <see cref="BlockedMemory"/>); batched MatMuls project them
/// (long rows a group of windows at a time); the pooling is a count and a max over time.
/// </summary>
internal static class LmuPooledFeaturizerGraph
{
    /// <summary>Stands in for minus infinity on padded steps before the max (a float32 that no real value reaches).</summary>
    private const float Lowest = -3.0e38f;

    /// <summary>
    /// Names and shape of one graph; with <c>ChannelMajor</c> the input row is [C, T] (each channel's steps one after
    /// another), not [T, C]; <c>GroupBytes</c> bounds the projections of one group of windows and <c>ConvBytes</c> the
    /// Conv's unrolled input of one span of steps; <c>BlockSteps</c> computes the memory in blocks of that many steps (0:
    /// never; null: <see cref="BlockStepsFor"/>). Tests set them.
    /// </summary>
    public sealed record Spec(
        string InputName, string? LengthName, string OutputName, LmuPooledKernelSet Kernels, bool ChannelMajor = false, long GroupBytes = DefaultGroupBytes,
        long ConvBytes = DefaultConvBytes, OnnxElementType LengthType = OnnxElementType.Float, int? BlockSteps = null)
    {
        /// <summary>The graph of a fit with <paramref name="options"/>: Fit and the standalone export build it alike.</summary>
        public static Spec For(LmuPooledFeaturizerOptions options, string outputName, LmuPooledKernelSet kernels, OnnxElementType lengthType) =>
            new(options.InputColumnName, options.LengthColumnName, outputName, kernels, options.InputLayout == Classification.LmuInputLayout.ChannelMajor, LengthType: lengthType);
    }

    /// <summary>The ONNX model bytes.</summary>
    public static byte[] Build(Spec s)
    {
        var k = s.Kernels;
        int t = k.Steps, c = k.Channels, windows = k.Windows;
        var g = new OnnxGraphBuilder("lmu_pooled_featurize");
        g.Input(s.InputName, OnnxElementType.Float, (long)t * c);
        // Channel-major rows are transposed once here; the rest of the graph reads [T, C].
        var x = s.ChannelMajor && c > 1
            ? g.Op("Transpose", [g.Op("Reshape", [s.InputName, g.Int64s("shape", c, t)])], OnnxAttribute.Ints("perm", 1, 0))
            : g.Op("Reshape", [s.InputName, g.Int64s("shape", t, c)]);
        string? mask = null;
        string? count = null;
        string? badLength = null;
        if (s.LengthName is not null)
        {
            g.Input(s.LengthName, s.LengthType, 1L, 1L);
            (x, mask, count, badLength) = LmuFeaturizerGraph.RightAlign(g, x, s.LengthName, t);
        }

        // A NaN or an infinity in a step the row's length covers: the counts of positive values skip a NaN and the
        // maxima ignore it, so such a row got finite features under Normalization.None (found by QA; the per-row
        // normalisations spread the NaN to every step). It gets NaN features, as a bad length does.
        var bad = LmuOnnxRightAlign.NotFinite(g, x);
        if (badLength is not null)
        {
            bad = g.Op("Or", [bad, badLength]);
        }

        x = LmuFeaturizerGraph.Normalize(g, x, k.Normalization, mask, count, t, c);

        // [T, C] -> [1, C, T]; the Conv (group = C) applies channel c's block of windows*q kernels to channel c only.
        x = g.Op("Unsqueeze", [g.Op("Transpose", [x], OnnxAttribute.Ints("perm", 1, 0)), g.Int64s("axes", 0)]);
        var block = s.BlockSteps ?? BlockStepsFor(t);
        var memory = block > 0 && block < t ? BlockedMemory(g, k, x, block) : Memory(g, k, x, s.ConvBytes); // [1, C*G*q, T]
        memory = g.Op("Reshape", [memory, g.Int64s("shape", c, windows, k.Order, t)]);               // [C, G, q, T]
        string? stepMask = mask is null ? null : g.Op("Reshape", [mask, g.Int64s("shape", 1, 1, t)]);
        string? valid = stepMask is null ? null : g.Op("Greater", [stepMask, g.Floats("half", [0.5f], 1)]);
        var divisor = count is null
            ? g.Floats("steps", [t], 1)
            : g.Op("Max", [count, g.Floats("one", [1f], 1)]);

        // The windows in groups whose [windows, P, T] projections stay within s.GroupBytes: one group of all the windows
        // at the usual lengths (the graph as it always was), several for long rows, where the whole tensor took about
        // 400 MB per row at T = 20,000 and a few of its companions as much again (found by QA: 3 GB to classify 10
        // rows, 2 GB per request when served). Each group's values are computed as the whole's were.
        var size = GroupSize(k, s.GroupBytes);
        var proportions = new List<string>();
        var maxima = new List<string>();
        for (var first = 0; first < windows; first += size)
        {
            var (proportion, max) = Group(g, k, memory, first, Math.Min(size, windows - first), stepMask, valid, divisor, count);
            proportions.Add(proportion);
            maxima.Add(max);
        }

        // Every proportion (window-major), then every max, whatever the grouping.
        var output = g.Op("Concat", [.. proportions, .. maxima], OnnxAttribute.Int("axis", 0));
        output = LmuOnnxRightAlign.NaNWhere(g, g.Op("Reshape", [bad, g.Int64s("shape", 1)]), output);
        g.Add("Identity", [output], [s.OutputName], []);
        g.Output(s.OutputName, OnnxElementType.Float, (long)k.OutputSize);
        if (LmuOnnxSlotNames.Named(k.OutputSize))
        {
            LmuOnnxSlotNames.Add(g, s.OutputName, k.SlotNames());
        }
        return OnnxModelWriter.Write(g.Graph);
    }

    /// <summary>Bytes the Conv's unrolled input may take for one span of output steps (kernel T x span, float32): 64 MiB.</summary>
    internal const long DefaultConvBytes = 64L << 20;

    /// <summary>Output steps per Conv span: as many as keep T x span within <paramref name="bytes"/>, at least one.</summary>
    internal static int SpanSteps(LmuPooledKernelSet k, long bytes) =>
        (int)Math.Clamp(bytes / ((long)k.Steps * sizeof(float)), 1, k.Steps);

    /// <summary>
    /// Every window's memory at every step, [1, C*G*q, T]: a causal Conv of the row with the impulse responses. ONNX
    /// Runtime unrolls a Conv's input into kernel x output steps, T x T floats per channel for a kernel of T taps (1.6 GB at
    /// T = 20,000), so long rows are convolved a span of output steps at a time, each span reading the T - 1 steps before
    /// it from the zero-padded row, and the spans concatenated: the same sums, in memory of T x span.
    /// </summary>
    private static string Memory(OnnxGraphBuilder g, LmuPooledKernelSet k, string x, long convBytes)
    {
        int t = k.Steps, c = k.Channels;
        var kernels = g.Floats("memory_kernels", ConvolutionKernels(k, t), (long)c * k.Windows * k.Order, 1, t);
        var span = SpanSteps(k, convBytes);
        if (span >= t)
        {
            // Causal and from a zero state: T-1 zeros before the first step, none after the last.
            return g.Op("Conv", [x, kernels], OnnxAttribute.Int("group", c), OnnxAttribute.Ints("kernel_shape", t), OnnxAttribute.Ints("pads", t - 1, 0));
        }

        var padded = g.Op("Concat", [g.Floats("zeros", new float[c * (t - 1)], 1, c, t - 1), x], OnnxAttribute.Int("axis", 2)); // [1, C, 2T-1]
        var pieces = new List<string>();
        for (var start = 0; start < t; start += span)
        {
            var steps = Math.Min(span, t - start);
            // Output step start + j reads padded steps start + j .. start + j + T - 1.
            var slice = g.Op("Slice", [padded, g.Int64s("starts", start), g.Int64s("ends", start + steps + t - 1), g.Int64s("axes", 2)]);
            pieces.Add(g.Op("Conv", [slice, kernels], OnnxAttribute.Int("group", c), OnnxAttribute.Ints("kernel_shape", t)));
        }

        return g.Op("Concat", pieces, OnnxAttribute.Int("axis", 2));
    }

    /// <summary>Rows from this many steps have their memory computed in blocks (<see cref="BlockedMemory"/>).</summary>
    internal const int BlockedFromSteps = 1024;

    /// <summary>Steps per block of <see cref="BlockedMemory"/> for long rows.</summary>
    internal const int DefaultBlockSteps = 64;

    /// <summary>
    /// Steps per block of the memory for rows of <paramref name="steps"/> steps: 0 (the Conv over the whole row) below
    /// <see cref="BlockedFromSteps"/>, where the UCR results of the README were measured and the graph stays as it was;
    /// <see cref="DefaultBlockSteps"/> from there.
    /// </summary>
    internal static int BlockStepsFor(int steps) => steps >= BlockedFromSteps ? DefaultBlockSteps : 0;

    /// <summary>
    /// Every window's memory at every step, [1, C*G*q, T], in blocks of L steps: <c>m_t = sum_{tau &lt; L} H[tau]
    /// u[t - tau] + Ad^L m_{t-L}</c> (the impulse response past L taps is Ad^L applied to the response so far), so a
    /// Conv of L taps gives the first sum for every step at once, and one batched MatMul per block carries the rest
    /// forward, every position of a block at once. The whole-row Conv costs T x T multiply-adds per kernel, which made
    /// the pooled featurizer quadratic in the row's length (QA: 2.4 ms a row at T = 200, 256 ms at 2,000, 4.2 s at
    /// 10,000); this costs T x L per kernel and T x q per kernel and block step.
    /// </summary>
    private static string BlockedMemory(OnnxGraphBuilder g, LmuPooledKernelSet k, string x, int block)
    {
        int t = k.Steps, c = k.Channels, q = k.Order, windows = k.Windows;
        var blocks = (t + block - 1) / block;
        var padded = blocks * block;
        if (padded > t)
        {
            // Zeros after the last step: a causal map never reads them for the steps that are kept.
            x = g.Op("Concat", [x, g.Floats("tail_zeros", new float[c * (padded - t)], 1, c, padded - t)], OnnxAttribute.Int("axis", 2));
        }

        var kernels = g.Floats("memory_block_kernels", ConvolutionKernels(k, block), (long)c * windows * q, 1, block);
        var local = g.Op("Conv", [x, kernels], OnnxAttribute.Int("group", c), OnnxAttribute.Ints("kernel_shape", block), OnnxAttribute.Ints("pads", block - 1, 0));
        local = g.Op("Reshape", [local, g.Int64s("shape", c, windows, q, padded)]);                  // [C, G, q, blocks*L]
        var power = g.Floats("memory_block_power", BlockPowers(k, block), windows, q, q);           // [G, q, q]: Ad^L
        var states = new List<string>(blocks);
        string? previous = null;
        for (var b = 0; b < blocks; b++)
        {
            var piece = g.Op("Slice", [local, g.Int64s("starts", (long)b * block), g.Int64s("ends", (long)(b + 1) * block), g.Int64s("axes", 3)]);
            previous = previous is null ? piece : g.Op("Add", [piece, g.Op("MatMul", [power, previous])]);
            states.Add(previous);
        }

        var memory = states.Count == 1 ? states[0] : g.Op("Concat", states, OnnxAttribute.Int("axis", 3));
        if (padded > t)
        {
            memory = g.Op("Slice", [memory, g.Int64s("starts", 0), g.Int64s("ends", t), g.Int64s("axes", 3)]);
        }

        return g.Op("Reshape", [memory, g.Int64s("shape", 1, (long)c * windows * q, t)]);
    }

    /// <summary>Each window's <c>Ad^L</c>, [G, q, q] row-major, powered in float64.</summary>
    private static float[] BlockPowers(LmuPooledKernelSet k, int block)
    {
        var q = k.Order;
        var w = new float[k.Windows * q * q];
        for (var g = 0; g < k.Windows; g++)
        {
            var ad = Maths.SquareMatrix.Flatten(k.Systems[g].Ad);
            var power = new double[q * q];
            for (var i = 0; i < q; i++)
            {
                power[(i * q) + i] = 1;
            }

            for (var s = 0; s < block; s++)
            {
                power = Maths.SquareMatrix.Multiply(ad, power, q);
            }

            for (var i = 0; i < q * q; i++)
            {
                w[(g * q * q) + i] = (float)power[i];
            }
        }

        return w;
    }

    /// <summary>Bytes the projections of one group of windows may take ([windows, P, T] float32): 64 MiB.</summary>
    internal const long DefaultGroupBytes = 64L << 20;

    /// <summary>Windows per group: as many as fit in <paramref name="bytes"/>, at least one.</summary>
    internal static int GroupSize(LmuPooledKernelSet k, long bytes) =>
        (int)Math.Clamp(bytes / ((long)k.Projections * k.Steps * sizeof(float)), 1, k.Windows);

    /// <summary>
    /// The proportions of positive values and the maxima over time ([n*P] each, window-major) of windows
    /// <paramref name="first"/> to <paramref name="first"/> + <paramref name="n"/> - 1.
    /// </summary>
    private static (string Proportion, string Max) Group(
        OnnxGraphBuilder g, LmuPooledKernelSet k, string memory, int first, int n, string? stepMask, string? valid, string divisor, string? count)
    {
        int t = k.Steps, c = k.Channels, q = k.Order, p = k.Projections;
        if (n < k.Windows)
        {
            memory = g.Op("Slice", [memory, g.Int64s("starts", first), g.Int64s("ends", first + n), g.Int64s("axes", 1)]); // [C, n, q, T]
        }

        memory = g.Op("Transpose", [memory], OnnxAttribute.Ints("perm", 1, 0, 2, 3));          // [n, C, q, T]
        memory = g.Op("Reshape", [memory, g.Int64s("shape", n, (long)c * q, t)]);
        var z = g.Op("MatMul", [g.Floats("projections", ProjectionWeights(k, first, n), n, p, (long)c * q), memory]); // [n, P, T]
        z = g.Op("Add", [z, g.Floats("biases", Biases(k, first, n), n, p, 1)]);

        var positive = g.Op("Cast", [g.Op("Greater", [z, g.Floats("zero", [0f], 1)])], OnnxAttribute.Int("to", (long)OnnxElementType.Float));
        if (stepMask is not null)
        {
            positive = g.Op("Mul", [positive, stepMask]);
        }

        // The count is a MatMul with ones (a sum of 0/1 values, exact in float32 at any order), not ReduceSum, for
        // the same bit-for-bit reason as the normalisation (see LmuFeaturizerGraph.Normalize).
        var counted = g.Op("MatMul", [g.Op("Reshape", [positive, g.Int64s("shape", (long)n * p, t)]),
            g.Floats("ones_steps", Enumerable.Repeat(1f, t).ToArray(), t, 1)]);            // [n*P, 1]
        var proportion = g.Op("Reshape", [g.Op("Div", [counted, divisor]), g.Int64s("shape", (long)n * p)]);

        if (valid is not null)
        {
            z = g.Op("Where", [valid, z, g.Floats("lowest", [Lowest], 1)]);
        }

        // Max is exact whatever the order, so ReduceMax is deterministic.
        var max = g.Op("ReduceMax", [z], OnnxAttribute.Ints("axes", 2), OnnxAttribute.Int("keepdims", 0));
        max = g.Op("Reshape", [max, g.Int64s("shape", (long)n * p)]);
        if (count is not null)
        {
            // A row with no valid step gives zeros (as its proportions are), not the stand-in for minus infinity.
            max = g.Op("Where", [g.Op("Greater", [count, g.Floats("half", [0.5f], 1)]), max, g.Floats("zero", [0f], 1)]);
        }

        return (proportion, max);
    }

    /// <summary>
    /// Conv weights [C*G*q, 1, T]: output channel <c>(c*G + g)*q + i</c> is coefficient i of window g on channel c, and
    /// its tap s multiplies input step <c>t - (T-1-s)</c>, so tap s holds <c>H_g[T-1-s, i]</c>.
    /// </summary>
    /// <summary>The first <paramref name="t"/> taps of every window's impulse response, per channel, as a Conv reads them (reversed).</summary>
    private static float[] ConvolutionKernels(LmuPooledKernelSet k, int t)
    {
        int q = k.Order, windows = k.Windows;
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

    private static float[] ProjectionWeights(LmuPooledKernelSet k, int first, int n)
    {
        var width = k.Channels * k.Order;
        var w = new float[n * k.Projections * width];
        var at = 0;
        for (var g = first; g < first + n; g++)
        {
            for (var j = 0; j < k.Projections; j++)
            {
                for (var i = 0; i < width; i++)
                {
                    w[at++] = (float)k.Weights[g, j, i];
                }
            }
        }

        return w;
    }

    private static float[] Biases(LmuPooledKernelSet k, int first, int n)
    {
        var b = new float[n * k.Projections];
        for (var g = 0; g < n; g++)
        {
            for (var j = 0; j < k.Projections; j++)
            {
                b[(g * k.Projections) + j] = (float)k.Biases[first + g, j];
            }
        }

        return b;
    }
}
