using Lmu.MLNet.Maths;

namespace Lmu.MLNet.Featurize;

/// <summary>
/// The sampled parameters of a pooled featurizer (window lengths, projections, biases); the float64 step-by-step
/// evaluation of its features is in LmuPooledKernelSet.Reference.cs. The ONNX graph evaluates the same features as a
/// convolution; that recurrence is the independent second formulation it is tested against, and what Fit uses to
/// place the biases.
/// </summary>
internal sealed partial class LmuPooledKernelSet
{
    /// <summary>Quantiles of a projection over one training row from which a bias is drawn.</summary>
    public const double LowQuantile = 0.25, HighQuantile = 0.75;

    private LmuPooledKernelSet(int steps, int channels, int order, LmuDiscretizer discretizer, LmuFeatureNormalization normalization, double[] thetas, double[,,] weights, double[,] biases)
    {
        Steps = steps;
        Channels = channels;
        Order = order;
        Discretizer = discretizer;
        Normalization = normalization;
        Thetas = thetas;
        // Discretised once here (a matrix exponential each): the reference evaluation and the graph's kernels both
        // need every window's system, once per row and once per build respectively.
        Systems = thetas.Select(theta => DiscreteLegendreSystem.Create(order, theta, discretizer)).ToArray();
        Weights = weights;
        Biases = biases;
    }

    public int Steps { get; }

    public int Channels { get; }

    public int Order { get; }

    public LmuDiscretizer Discretizer { get; }

    public LmuFeatureNormalization Normalization { get; }

    /// <summary>Window length of each memory, [G].</summary>
    public double[] Thetas { get; }

    /// <summary>The discretised Legendre system of each window, [G].</summary>
    public IReadOnlyList<DiscreteLegendreSystem> Systems { get; }

    /// <summary>Projection weights [G, P, C*Order]; the last index is <c>c*Order + i</c> (channel c, coefficient i).</summary>
    public double[,,] Weights { get; }

    /// <summary>Biases [G, P].</summary>
    public double[,] Biases { get; }

    public int Windows => Thetas.Length;

    public int Projections => Biases.GetLength(1);

    /// <summary>Output width: a proportion and a maximum per projection.</summary>
    public int OutputSize => (int)OutputSizeOf(Windows, Projections);

    /// <summary>Output width of <paramref name="windows"/> windows of <paramref name="projections"/> projections each.</summary>
    public static long OutputSizeOf(int windows, int projections) => 2L * windows * projections;

    /// <summary>
    /// The output's slot names, in slot order: <c>ppv.w{g}.p{k}</c> (the proportion of positive values of window g's
    /// projection k), then <c>max.w{g}.p{k}</c> (its maximum); g indexes <see cref="Thetas"/>.
    /// </summary>
    public string[] SlotNames()
    {
        var names = new string[OutputSize];
        var half = Windows * Projections;
        for (var g = 0; g < Windows; g++)
        {
            for (var k = 0; k < Projections; k++)
            {
                var suffix = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"w{g}.p{k}");
                names[(g * Projections) + k] = "ppv." + suffix;
                names[half + (g * Projections) + k] = "max." + suffix;
            }
        }

        return names;
    }

    /// <summary>
    /// Samples window lengths and directions from <paramref name="seed"/>, then places each window's biases from
    /// the row <paramref name="biasRow"/> returns for that window (a random training row; see
    /// <see cref="BiasRowIndices"/>).
    /// </summary>
    public static LmuPooledKernelSet Sample(
        int steps, int channels, int order, int windows, int projections, double minTheta, double maxTheta,
        LmuDiscretizer discretizer, LmuFeatureNormalization normalization, int seed, Func<int, (float[] Row, int Length)> biasRow)
    {
        var random = new Random(seed);
        var thetas = new double[windows];
        var weights = new double[windows, projections, channels * order];
        var logMin = Math.Log(minTheta);
        var logMax = Math.Log(maxTheta);
        for (var g = 0; g < windows; g++)
        {
            thetas[g] = Math.Exp(logMin + ((logMax - logMin) * random.NextDouble()));
            for (var k = 0; k < projections; k++)
            {
                foreach (var c in ChannelSubset(random, channels))
                {
                    // Coefficient 0 (the window's mean) stays 0, so a kernel sums to zero and ignores the level of a full window; the
                    // 1/sqrt(2i+1) makes the direction standard normal in the orthonormal Legendre basis (m_i carries
                    // a factor 2i+1 relative to the orthonormal coefficient).
                    for (var i = 1; i < order; i++)
                    {
                        weights[g, k, (c * order) + i] = Normal(random) / Math.Sqrt((2 * i) + 1);
                    }
                }
            }
        }

        var set = new LmuPooledKernelSet(steps, channels, order, discretizer, normalization, thetas, weights, new double[windows, projections]);
        for (var g = 0; g < windows; g++)
        {
            var (row, length) = biasRow(g);
            var z = set.Project(g, set.Normalize(row, length), length, withBias: false);
            for (var k = 0; k < projections; k++)
            {
                var values = new double[length];
                for (var t = 0; t < length; t++)
                {
                    values[t] = z[k, t];
                }

                var q = LowQuantile + ((HighQuantile - LowQuantile) * random.NextDouble());
                set.Biases[g, k] = length == 0 ? 0 : -Quantile(values, q);
            }
        }

        return set;
    }

    /// <summary>The training-row index used for each window's biases, drawn from the stream <c>seed + 1</c> (see the comment inside).</summary>
    public static int[] BiasRowIndices(int seed, int windows, long rows)
    {
        // A separate stream (seed + 1) so that the kernels do not depend on the number of rows.
        var random = new Random(unchecked(seed + 1));
        var indices = new int[windows];
        for (var g = 0; g < windows; g++)
        {
            indices[g] = (int)(random.NextDouble() * rows);
        }

        return indices;
    }

    /// <summary>A random subset of channels whose size is log-uniform in [1, C].</summary>
    private static int[] ChannelSubset(Random random, int channels)
    {
        if (channels == 1)
        {
            return [0];
        }

        var size = Math.Clamp((int)Math.Exp(random.NextDouble() * Math.Log(channels + 1)), 1, channels);
        var all = Enumerable.Range(0, channels).ToArray();
        for (var i = 0; i < size; i++)
        {
            var j = i + random.Next(channels - i);
            (all[i], all[j]) = (all[j], all[i]);
        }

        return all[..size];
    }

    /// <summary>A standard normal draw (Box-Muller; 1 - U keeps the logarithm finite).</summary>
    private static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    /// <summary>Linear-interpolation quantile (the usual "type 7" definition) of <paramref name="values"/>.</summary>
    private static double Quantile(double[] values, double q)
    {
        Array.Sort(values);
        var position = q * (values.Length - 1);
        var low = (int)Math.Floor(position);
        var high = Math.Min(low + 1, values.Length - 1);
        return values[low] + ((position - low) * (values[high] - values[low]));
    }
}
