using Lmu.MLNet.Classification;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Samples.Ucr;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>
/// The `ucr` command trains its default network through <see cref="UcrDefaultPipeline"/>: the classifier options must
/// resolve to exactly the network the study cross-validated (a one-layer network's options keep that layer in Layer
/// with Layers empty: copying Layers alone trained the classifier's own default layer instead), and the two-channel
/// pipeline must fit and score end to end.
/// </summary>
[TestClass]
public sealed class UcrDefaultPipelineTests
{
    private const int Steps = 20;

    [TestMethod]
    [DataRow(1)]
    [DataRow(2)]
    public void TheOptionsResolveToTheGivenNetwork(int layerCount)
    {
        var first = new LmuLayerOptions { InputSize = 2, Order = 32, Theta = Steps, MemoryD = 1, HiddenCell = HiddenCell.SimpleRnn, HiddenUnits = 64, Dropout = 0.1 };
        var network = new LmuNetworkOptions { Readout = LmuReadout.LastStepMeanAndMax, OutputSize = 2, HeadHiddenSizes = [8] };
        if (layerCount == 1)
        {
            network.Layer = first;
        }
        else
        {
            var second = new LmuLayerOptions { InputSize = 64, Order = 16, Theta = Steps / 2, MemoryD = 4, HiddenCell = HiddenCell.Dense, HiddenUnits = 32 };
            network.Layers = [first, second];
        }

        var expected = layerCount == 1 ? [network.Layer] : network.Layers.ToArray();
        var options = UcrDefaultPipeline.Options(network, Steps, 2, both: true, epochs: 1, seed: 7, threads: 1);
        var resolved = options.NetworkOptions(3, null);
        var layers = resolved.Layers.Count > 0 ? resolved.Layers : [resolved.Layer];
        Assert.HasCount(expected.Length, layers);
        for (var i = 0; i < expected.Length; i++)
        {
            var (e, a) = (expected[i], layers[i]);
            Assert.AreEqual(
                (e.InputSize, e.Order, e.Theta, e.MemoryD, e.HiddenCell, e.HiddenUnits, e.Dropout),
                (a.InputSize, a.Order, a.Theta, a.MemoryD, a.HiddenCell, a.HiddenUnits, a.Dropout),
                $"layer {i} of {layerCount}");
        }

        Assert.AreEqual(LmuReadout.LastStepMeanAndMax, resolved.Readout);
        CollectionAssert.AreEqual(new[] { 8 }, resolved.HeadHiddenSizes.ToArray());
        Assert.AreEqual(LmuInputLayout.ChannelMajor, options.InputLayout);
        Assert.AreEqual(UcrDefaultPipeline.BothColumn, options.FeatureColumnName);
    }

    [TestMethod]
    public void TheTwoChannelPipelineFitsAndScores()
    {
        var ml = new MLContext(1);
        var rng = new Random(2);
        var rows = Enumerable.Range(0, 32).Select(i => new Row
        {
            Label = i % 2 == 0 ? "up" : "down",
            Features = Enumerable.Range(0, Steps).Select(t => (float)((i % 2 == 0 ? t : -t) * 0.1 + rng.NextDouble() - 0.5)).ToArray(),
        }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var network = new LmuNetworkOptions
        {
            Layer = new LmuLayerOptions { InputSize = 2, Order = 8, Theta = Steps, MemoryD = 1, HiddenCell = HiddenCell.SimpleRnn, HiddenUnits = 8 },
            Readout = LmuReadout.LastStepMeanAndMax, OutputSize = 2,
        };
        var options = UcrDefaultPipeline.Options(network, Steps, 2, both: true, epochs: 2, seed: 7, threads: 1);
        using var model = (TransformerChain<LmuClassifierTransformer>)UcrDefaultPipeline.Create(ml, options, both: true).Fit(data);
        var classifier = model.LastTransformer;
        Assert.AreEqual(2, classifier.Info.Channels);
        Assert.AreEqual(LmuInputLayout.ChannelMajor, classifier.Info.InputLayout);
        // One memory encoding both channels (e_x 2 x 1), 8 hidden units reading it (W_ih 8 x 8, b_ih, W_hh, b_hh), a
        // head over [last, mean, max] of 8 units.
        Assert.AreEqual((2 * 1) + (8 * 8 + 8 + 8 * 8 + 8) + (24 * 2 + 2), classifier.Info.ParameterCount);
        var scores = model.Transform(data).GetColumn<float[]>("Score").ToArray();
        Assert.IsTrue(scores.All(s => s.Length == 2 && s.All(float.IsFinite)));
    }

    private sealed class Row
    {
        public string Label { get; set; } = string.Empty;

        [VectorType(Steps)]
        public float[] Features { get; set; } = [];
    }
}
