using Lmu.MLNet.Experiments;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Experiments;

/// <summary>
/// The per-step standardisation the ucr-dynamics "+std" variants train with is what the README tells users to put in
/// their pipeline: ML.NET's NormalizeMeanVariance(fixZero: false) fitted on the same rows gives the same values (1e-5,
/// float32 both; ML.NET accumulates in float64 too). The "+both" variants' two channels (raw, then standardised) are
/// what NormalizeMeanVariance into a column of its own, then Concatenate, gives, read channel-major.
/// </summary>
[TestClass]
public sealed class SlotStandardizationTests
{
    private const int Steps = 6;

    [TestMethod]
    public void StandardizedEqualsMlNetsMeanVarianceNormalizer()
    {
        var ml = new MLContext(1);
        var rng = new Random(3);
        var rows = Enumerable.Range(0, 40).Select(i => new Row
        {
            Label = i % 2 == 0 ? "a" : "b",
            // A shared shape, an offset per step and a small class signal; step 5 is constant (scale 1).
            Features = Enumerable.Range(0, Steps).Select(t => t == 5 ? 2f : (float)(Math.Sin(t) * 3 + t + (i % 2) * 0.1 + rng.NextDouble() * 0.2)).ToArray(),
        }).ToList();
        var view = ml.Data.LoadFromEnumerable(rows);
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(view).Transform(view);
        var data = LmuExperimentData.Read(keyed, "Label", "Features", 1, null, "test rows");
        var fit = Enumerable.Range(0, 30).ToArray();
        var (mean, scale) = data.SlotStatistics(fit);
        var ours = data.Standardized(mean, scale);

        var normalizer = ml.Transforms.NormalizeMeanVariance("Features", fixZero: false).Fit(ml.Data.LoadFromEnumerable(rows.Take(30)));
        var theirs = normalizer.Transform(view).GetColumn<float[]>("Features").ToArray();
        for (var r = 0; r < rows.Count; r++)
        {
            for (var t = 0; t < 5; t++)
            {
                Assert.AreEqual(theirs[r][t], ours.Values[r * Steps + t], 1e-5, $"row {r} step {t}");
            }

            Assert.AreEqual(0f, ours.Values[r * Steps + 5], 1e-6, $"row {r}: a constant step becomes 0");
        }

        // Rows outside the fitted ones get the fitted statistics, not their own.
        Assert.AreNotEqual(0.0, Enumerable.Range(30, 10).Average(r => ours.Values[r * Steps]), 1e-3);
    }

    [TestMethod]
    public void RawAndStandardizedChannelsEqualTheConcatenatedPipelineColumn()
    {
        var ml = new MLContext(1);
        var rng = new Random(4);
        var rows = Enumerable.Range(0, 24).Select(i => new Row
        {
            Label = i % 3 == 0 ? "a" : "b",
            Features = Enumerable.Range(0, Steps).Select(t => (float)(Math.Cos(t) * 2 + t * (i % 3) * 0.1 + rng.NextDouble())).ToArray(),
        }).ToList();
        var view = ml.Data.LoadFromEnumerable(rows);
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(view).Transform(view);
        var data = LmuExperimentData.Read(keyed, "Label", "Features", 1, null, "test rows");
        var all = Enumerable.Range(0, rows.Count).ToArray();
        var (mean, scale) = data.SlotStatistics(all);
        var both = data.WithChannelsOf(data.Standardized(mean, scale));
        Assert.AreEqual(2, both.Channels);

        var pipeline = ml.Transforms.NormalizeMeanVariance("Standardized", "Features", fixZero: false)
            .Append(ml.Transforms.Concatenate("RawAndStandardized", "Features", "Standardized"));
        var theirs = pipeline.Fit(view).Transform(view).GetColumn<float[]>("RawAndStandardized").ToArray();
        for (var r = 0; r < rows.Count; r++)
        {
            for (var t = 0; t < Steps; t++)
            {
                for (var c = 0; c < 2; c++)
                {
                    // Concatenate is channel-major (value (t, c) at c*T + t); the study's data step-major (t*C + c).
                    Assert.AreEqual(theirs[r][c * Steps + t], both.Values[(r * Steps + t) * 2 + c], 1e-5, $"row {r} step {t} channel {c}");
                }
            }
        }
    }

    private sealed class Row
    {
        public string Label { get; set; } = string.Empty;

        [VectorType(Steps)]
        public float[] Features { get; set; } = [];
    }
}
