using Lmu.MLNet.Maths;
using Lmu.MLNet.Onnx;

namespace Lmu.MLNet.Featurize;

/// <summary>
/// The featurizer's ONNX graph, one row per run (no batch axis, as ML.NET's OnnxTransformer feeds it). The memory of
/// a linear time-invariant system read from a zero state is a fixed linear map of the input,
/// <c>m_T[k, :] = sum_s u[s, k] H[T-1-s, :]</c> with <c>H[tau] = Ad^tau Bd</c>, so the whole featurizer is one MatMul
/// of a precomputed kernel with the [T, C] row (plus cheap reshapes), never a step-by-step recurrence.
/// </summary>
internal static class LmuFeaturizerGraph
{
    /// <summary>Standard deviations below this are treated as 1 (the row is only centred), so constant rows stay finite.</summary>
    public const float StdFloor = 1e-8f;

    /// <summary>The resolved parameters of one featurizer.</summary>
    public sealed record Spec(
        string InputName,
        string? LengthName,
        string OutputName,
        int Steps,
        int Channels,
        int Order,
        double Theta,
        LmuDiscretizer Discretizer,
        LmuFeatureNormalization Normalization,
        IReadOnlyList<int> WindowPositions,
        IReadOnlyList<double> DecodedDelays,
        bool ChannelMajor = false,
        OnnxElementType LengthType = OnnxElementType.Float)
    {
        /// <summary>Memory blocks emitted: the last step, then each window position.</summary>
        public int Blocks => 1 + WindowPositions.Count;

        /// <summary>Width of the output vector.</summary>
        public int OutputSize => (int)OutputSizeOf(WindowPositions.Count, Order, DecodedDelays.Count, Channels);

        /// <summary>Width of the output of a featurizer with these options (known before Fit: it does not depend on T).</summary>
        public static long OutputSizeOf(int windowPositions, int order, int decodedDelays, int channels) =>
            (((1L + windowPositions) * order) + decodedDelays) * channels;

        /// <summary>
        /// The output's slot names, in slot order: <c>c{k}.m{i}.t{p}</c> for Legendre coefficient i of channel k after
        /// p steps (p = Steps for the last step, then each window position), then <c>c{k}.delay{r}</c> for channel k
        /// decoded at relative delay r (invariant culture). A repeated position or delay gets "#2", "#3"...
        /// </summary>
        public string[] SlotNames()
        {
            var positions = new[] { Steps }.Concat(WindowPositions);
            var memory = positions.SelectMany(p => Enumerable.Range(0, Channels).SelectMany(k => Enumerable.Range(0, Order).Select(i =>
                string.Create(System.Globalization.CultureInfo.InvariantCulture, $"c{k}.m{i}.t{p}"))));
            var decoded = Enumerable.Range(0, Channels).SelectMany(k => DecodedDelays.Select(r =>
                string.Create(System.Globalization.CultureInfo.InvariantCulture, $"c{k}.delay{r:R}")));
            return LmuOnnxSlotNames.Unique(memory.Concat(decoded));
        }
    }

    /// <summary>
    /// The float64 kernel, row-major [F, T] with F = Blocks*Order + R: row <c>b*Order + i</c> maps the input to
    /// coefficient i of the memory after block b's step count; row <c>Blocks*Order + j</c> decodes delay j.
    /// </summary>
    public static double[] Kernel(Spec s)
    {
        var t = s.Steps;
        var q = s.Order;
        var h = DiscreteLegendreSystem.Create(q, s.Theta, s.Discretizer).ImpulseResponse(t);
        var positions = new[] { t }.Concat(s.WindowPositions).ToArray();
        var rows = positions.Length * q + s.DecodedDelays.Count;
        var k = new double[rows * t];
        for (var b = 0; b < positions.Length; b++)
        {
            var p = positions[b];
            for (var i = 0; i < q; i++)
            {
                // Steps at or after p have not been read yet at step p: their weight is 0.
                for (var step = 0; step < p; step++)
                {
                    k[((b * q) + i) * t + step] = h[p - 1 - step, i];
                }
            }
        }

        var decoder = LegendreDecoder.Matrix(q, s.DecodedDelays);
        for (var j = 0; j < s.DecodedDelays.Count; j++)
        {
            for (var step = 0; step < t; step++)
            {
                double sum = 0;
                for (var i = 0; i < q; i++)
                {
                    sum += decoder[j, i] * h[t - 1 - step, i];
                }

                k[((positions.Length * q) + j) * t + step] = sum;
            }
        }

        return k;
    }

    /// <summary>The ONNX model bytes.</summary>
    public static byte[] Build(Spec s)
    {
        var g = new OnnxGraphBuilder("lmu_featurize");
        var t = s.Steps;
        var c = s.Channels;
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
            // ML.NET feeds a scalar column as a [1, 1] tensor, of the column's type (the alignment casts it).
            g.Input(s.LengthName, s.LengthType, 1L, 1L);
            (x, mask, count, badLength) = RightAlign(g, x, s.LengthName, t);
        }

        x = Normalize(g, x, s.Normalization, mask, count, t, c);

        var kernel = Kernel(s);
        var memoryRows = s.Blocks * s.Order;
        var pieces = new List<string>();
        // [Blocks*q, T] x [T, C] -> [Blocks*q, C]; reorder to [Blocks, C, q] so each block is channel-major (k*q + i).
        var memory = g.Op("MatMul", [g.Floats("K_memory", ToFloats(kernel, 0, memoryRows * t), memoryRows, t), x]);
        memory = g.Op("Reshape", [memory, g.Int64s("shape", s.Blocks, s.Order, c)]);
        memory = g.Op("Transpose", [memory], OnnxAttribute.Ints("perm", 0, 2, 1));
        pieces.Add(g.Op("Reshape", [memory, g.Int64s("shape", (long)memoryRows * c)]));
        var r = s.DecodedDelays.Count;
        if (r > 0)
        {
            var decoded = g.Op("MatMul", [g.Floats("K_decode", ToFloats(kernel, memoryRows * t, r * t), r, t), x]);
            decoded = g.Op("Transpose", [decoded], OnnxAttribute.Ints("perm", 1, 0));
            pieces.Add(g.Op("Reshape", [decoded, g.Int64s("shape", (long)r * c)]));
        }

        var output = pieces.Count == 1 ? pieces[0] : g.Op("Concat", pieces, OnnxAttribute.Int("axis", 0));
        // A row whose length no model reads gets NaN features, not the truncated or clamped row's.
        output = badLength is null ? output : LmuOnnxRightAlign.NaNWhere(g, g.Op("Reshape", [badLength, g.Int64s("shape", 1)]), output);
        g.Add("Identity", [output], [s.OutputName], []);
        g.Output(s.OutputName, OnnxElementType.Float, (long)s.OutputSize);
        if (LmuOnnxSlotNames.Named(s.OutputSize))
        {
            LmuOnnxSlotNames.Add(g, s.OutputName, s.SlotNames());
        }
        return OnnxModelWriter.Write(g.Graph);
    }

    /// <summary>
    /// The shared batched alignment (<see cref="LmuOnnxRightAlign"/>) on a single row (the length arrives as [1, 1]; shared with the pooled featurizer): returns the aligned
    /// [T, C] row, the [T, 1] mask of valid steps, the float count n (as [1]) and whether the length is bad (bool [1, 1]).
    /// </summary>
    internal static (string X, string Mask, string Count, string BadLength) RightAlign(OnnxGraphBuilder g, string x, string length, int t)
    {
        var batch = g.Op("Unsqueeze", [x, g.Int64s("axes", 0)]);
        var a = LmuOnnxRightAlign.Build(g, batch, length, t);
        return (
            g.Op("Reshape", [a.X, g.Int64s("shape", t, -1)]),
            g.Op("Reshape", [a.Mask, g.Int64s("shape", t, 1)]),
            g.Op("Reshape", [a.Count, g.Int64s("shape", 1)]),
            a.BadLength);
    }

    /// <summary>
    /// Rescales the [T, C] row as <paramref name="kind"/> says (over the valid steps when <paramref name="mask"/> is
    /// given). Shared with the pooled featurizer.
    /// </summary>
    internal static string Normalize(OnnxGraphBuilder g, string x, LmuFeatureNormalization kind, string? mask, string? count, int steps, int channels)
    {
        if (kind == LmuFeatureNormalization.None)
        {
            return x;
        }

        // Sums are MatMuls with constant ones, not ReduceMean/ReduceSum: ONNX Runtime's reductions gave results that
        // differed in the last bit between runs of the same row (buffer-alignment-dependent vectorisation), and a
        // saved model must score exactly as the fitted one.
        var perRow = kind == LmuFeatureNormalization.ZScorePerRow;
        var onesSteps = g.Floats("ones_steps", Enumerable.Repeat(1f, steps).ToArray(), 1, steps);
        // Only the per-row form sums over channels (an unused initializer makes ONNX Runtime print a warning).
        var onesChannels = perRow ? g.Floats("ones_channels", Enumerable.Repeat(1f, channels).ToArray(), channels, 1) : null;
        string Sum(string v)
        {
            var s = g.Op("MatMul", [onesSteps, v]);              // [1, C]
            return onesChannels is not null ? g.Op("MatMul", [s, onesChannels]) : s; // [1, 1] or [1, C]
        }

        // Without a length every step is valid; with one, only the n valid steps count and the divisor is floored at 1
        // so an empty row gives zeros, not NaN.
        string divisor;
        if (mask is null)
        {
            divisor = g.Floats("count", [perRow ? (float)steps * channels : steps], 1);
        }
        else
        {
            var values = perRow ? g.Op("Mul", [count!, g.Floats("channels", [channels], 1)]) : count!;
            divisor = g.Op("Max", [values, g.Floats("one", [1f], 1)]);
        }

        // The row is divided by its largest magnitude first (a max is exact, so the bits stay the same run to run) and
        // the z-score, which does not depend on that scale, is taken of the result: the squared deviations of values
        // from about 1e18 on overflowed float32, and the features came out zero (found by QA). The floor keeps an
        // all-zero row from dividing by 0.
        // Per channel for per-channel z-scores: one magnitude for the row pushed a channel far smaller than another into
        // float32's subnormal range (found by review).
        var magnitude = g.Op("Max", [
            perRow
                ? g.Op("ReduceMax", [g.Op("Abs", [x])], OnnxAttribute.Int("keepdims", 1))
                : g.Op("ReduceMax", [g.Op("Abs", [x])], OnnxAttribute.Ints("axes", 0), OnnxAttribute.Int("keepdims", 1)),
            g.Floats("magnitude_floor", [1e-30f], 1)]);
        var unit = g.Op("Div", [x, magnitude]);
        var mean = g.Op("Div", [Sum(unit), divisor]);
        var centred = g.Op("Sub", [unit, mean]);
        if (mask is not null)
        {
            centred = g.Op("Mul", [centred, mask]);
        }

        var std = g.Op("Sqrt", [g.Op("Div", [Sum(g.Op("Mul", [centred, centred])), divisor])]);
        // A spread below StdFloor of the row's largest magnitude (std is of the unit-scaled row) leaves the (near-zero)
        // deviations unscaled. The floor was in the row's own units, so a row of scale 1e-9 that varies was only
        // centred, its features about 1e-9 instead of a z-score (found by QA); a z-score does not depend on the scale.
        var small = g.Op("Less", [std, g.Floats("floor", [StdFloor], 1)]);
        return g.Op("Where", [small, g.Op("Mul", [centred, magnitude]), g.Op("Div", [centred, std])]);
    }

    private static float[] ToFloats(double[] values, int from, int count)
    {
        var f = new float[count];
        for (var i = 0; i < count; i++)
        {
            f[i] = (float)values[from + i];
        }

        return f;
    }
}
