using Lmu.MLNet.Maths;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Featurize;

/// <summary>A sequence row whose vector size is set per test through a schema definition.</summary>
public sealed class SeqRow
{
    public float[] Features { get; set; } = [];

    public float Length { get; set; }

    public string Label { get; set; } = string.Empty;
}

/// <summary>Output row of the featurizer.</summary>
public sealed class FeatureRow
{
    public float[] LmuFeatures { get; set; } = [];
}

/// <summary>Data helpers and an independent float64 reference (the step-by-step recurrence, not the kernel).</summary>
internal static class FeaturizerData
{
    public static IDataView Load(MLContext ml, IEnumerable<SeqRow> rows, int width)
    {
        var def = SchemaDefinition.Create(typeof(SeqRow));
        def[nameof(SeqRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        return ml.Data.LoadFromEnumerable(rows, def);
    }

    public static List<SeqRow> Random(int count, int steps, int channels, int seed, double scale = 1, double offset = 0)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count)
            .Select(_ => new SeqRow
            {
                Features = Enumerable.Range(0, steps * channels).Select(_ => (float)(offset + scale * (rng.NextDouble() * 2 - 1))).ToArray(),
                Length = steps,
            })
            .ToList();
    }

    /// <summary>
    /// Memory after each step of u ([steps][channels]) by m_t = Ad m_{t-1} + Bd u_t from zero, float64; returns
    /// [steps][channels*order] channel-major.
    /// </summary>
    public static double[][] Recurrence(double[][] u, int order, double theta, LmuDiscretizer method)
    {
        var sys = DiscreteLegendreSystem.Create(order, theta, method);
        var ad = sys.Ad;
        var bd = sys.Bd;
        var c = u.Length == 0 ? 0 : u[0].Length;
        var m = new double[c, order];
        var result = new double[u.Length][];
        for (var t = 0; t < u.Length; t++)
        {
            var next = new double[c, order];
            for (var k = 0; k < c; k++)
            {
                for (var i = 0; i < order; i++)
                {
                    var s = bd[i] * u[t][k];
                    for (var j = 0; j < order; j++)
                    {
                        s += ad[i, j] * m[k, j];
                    }

                    next[k, i] = s;
                }
            }

            m = next;
            result[t] = new double[c * order];
            for (var k = 0; k < c; k++)
            {
                for (var i = 0; i < order; i++)
                {
                    result[t][k * order + i] = m[k, i];
                }
            }
        }

        return result;
    }

    /// <summary>Row as [steps][channels] doubles (first <paramref name="steps"/> steps).</summary>
    public static double[][] Steps(float[] row, int steps, int channels) =>
        Enumerable.Range(0, steps).Select(t => Enumerable.Range(0, channels).Select(k => (double)row[t * channels + k]).ToArray()).ToArray();

    /// <summary>Z-score in float64: over everything (perChannel false) or per channel.</summary>
    public static double[][] ZScore(double[][] u, bool perChannel)
    {
        var c = u[0].Length;
        var result = u.Select(r => (double[])r.Clone()).ToArray();
        var groups = perChannel ? Enumerable.Range(0, c).Select(k => new[] { k }).ToArray() : [Enumerable.Range(0, c).ToArray()];
        foreach (var g in groups)
        {
            var values = u.SelectMany(r => g.Select(k => r[k])).ToArray();
            var mean = values.Average();
            var std = Math.Sqrt(values.Select(v => (v - mean) * (v - mean)).Average());
            // The library's floor: 1e-8 of the group's largest magnitude.
            var divisor = std <= 1e-8 * values.Max(Math.Abs) ? 1 : std;
            foreach (var r in result)
            {
                foreach (var k in g)
                {
                    r[k] = (r[k] - mean) / divisor;
                }
            }
        }

        return result;
    }
}
