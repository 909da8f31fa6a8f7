using Lmu.MLNet.Maths;

namespace Lmu.MLNet.Featurize;

/// <summary>The float64 step-by-step evaluation of the sampled features (the reference for the ONNX graph).</summary>
internal sealed partial class LmuPooledKernelSet
{
    /// <summary>
    /// The features of one row in float64, step by step: normalise the row's <paramref name="length"/> valid steps,
    /// run each memory's recurrence per channel, project, then pool the proportion of positive values and the maximum
    /// over those steps. A row with no valid step gives zeros.
    /// </summary>
    public double[] Features(float[] row, int length)
    {
        var output = new double[OutputSize];
        var half = Windows * Projections;
        var x = Normalize(row, length);
        for (var g = 0; g < Windows; g++)
        {
            var z = Project(g, x, length, withBias: true);
            for (var k = 0; k < Projections; k++)
            {
                if (length == 0)
                {
                    continue;
                }

                var positive = 0;
                var max = double.NegativeInfinity;
                for (var t = 0; t < length; t++)
                {
                    positive += z[k, t] > 0 ? 1 : 0;
                    max = Math.Max(max, z[k, t]);
                }

                output[(g * Projections) + k] = (double)positive / length;
                output[half + (g * Projections) + k] = max;
            }
        }

        return output;
    }

    /// <summary>The projections [P, length] of window <paramref name="g"/> at each valid step of the normalised row <paramref name="x"/>.</summary>
    private double[,] Project(int g, double[] x, int length, bool withBias)
    {
        var system = Systems[g];
        var z = new double[Projections, length];
        var u = new double[length];
        for (var c = 0; c < Channels; c++)
        {
            for (var t = 0; t < length; t++)
            {
                u[t] = x[(t * Channels) + c];
            }

            var m = system.States(u);
            for (var k = 0; k < Projections; k++)
            {
                for (var t = 0; t < length; t++)
                {
                    var sum = 0.0;
                    for (var i = 0; i < Order; i++)
                    {
                        sum += Weights[g, k, (c * Order) + i] * m[t, i];
                    }

                    z[k, t] += sum;
                }
            }
        }

        if (withBias)
        {
            for (var k = 0; k < Projections; k++)
            {
                for (var t = 0; t < length; t++)
                {
                    z[k, t] += Biases[g, k];
                }
            }
        }

        return z;
    }

    /// <summary>The valid steps (time-major, <c>length x Channels</c>) normalised as the graph does, in float64.</summary>
    private double[] Normalize(float[] row, int length)
    {
        var x = new double[length * Channels];
        for (var i = 0; i < x.Length; i++)
        {
            x[i] = row[i];
        }

        if (Normalization == LmuFeatureNormalization.None || length == 0)
        {
            return x;
        }

        var groups = Normalization == LmuFeatureNormalization.ZScorePerRow ? 1 : Channels;
        for (var group = 0; group < groups; group++)
        {
            bool InGroup(int index) => groups == 1 || index % Channels == group;
            double sum = 0, count = 0;
            for (var i = 0; i < x.Length; i++)
            {
                if (InGroup(i))
                {
                    sum += x[i];
                    count++;
                }
            }

            var mean = sum / count;
            double squares = 0;
            for (var i = 0; i < x.Length; i++)
            {
                if (InGroup(i))
                {
                    squares += (x[i] - mean) * (x[i] - mean);
                }
            }

            var std = Math.Sqrt(squares / count);
            double largest = 0;
            for (var i = 0; i < x.Length; i++)
            {
                if (InGroup(i))
                {
                    largest = Math.Max(largest, Math.Abs(x[i]));
                }
            }

            // The graph's floor: relative to the group's largest magnitude (an all-zero group too: 0 <= 0).
            if (std <= LmuFeaturizerGraph.StdFloor * largest)
            {
                std = 1;
            }

            for (var i = 0; i < x.Length; i++)
            {
                if (InGroup(i))
                {
                    x[i] = (x[i] - mean) / std;
                }
            }
        }

        return x;
    }
}
