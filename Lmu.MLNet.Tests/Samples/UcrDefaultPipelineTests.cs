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

    /// <summary>
    /// The `ucr` default is the cross-validated choice (EXPERIMENTS.md, "Seventh round"): two Legendre convolution layers over
    /// T/8 steps, then the recurrent layer over the whole row. Each layer's shape as chosen, and the three-layer
    /// network through the two-channel pipeline: it fits, reads every layer, and scores.
    /// </summary>
    [TestMethod]
    public void TheDefaultIsTheChosenConvolutionStackUnderTheWholeRowLayer()
    {
        const int steps = 40;
        var network = UcrDynamicsStudy.DefaultNetwork(steps, seriesChannels: 1, inputChannels: 2);
        var layers = network.Layers;
        Assert.HasCount(3, layers);
        var shapes = layers.Select(l => (l.InputSize, l.MemoryD, l.Order, l.Theta, l.HiddenCell, l.HiddenActivation, l.HiddenUnits, l.InputToHidden, l.Dropout)).ToArray();
        Assert.AreEqual((2, 2, 16, steps / 8.0, HiddenCell.Dense, LmuActivation.Relu, 64, false, 0.1), shapes[0]);
        Assert.AreEqual((64, 8, 16, steps / 8.0, HiddenCell.Dense, LmuActivation.Relu, 64, true, 0.1), shapes[1]);
        Assert.AreEqual((64, 4, 32, (double)steps, HiddenCell.SimpleRnn, LmuActivation.Tanh, 64, false, 0.1), shapes[2]);
        Assert.AreEqual(LmuReadout.LastStepMeanAndMax, network.Readout);

        var info = FitAndScore(network, steps, rows: 16, slope: 0.05, seed: 3, epochs: 1);
        // e_x [2, 2] and a Dense(64) over 2 x 16 coefficients; e_x [64, 8], Dense(64) over 8 x 16 coefficients and the
        // 64 input channels; e_x [64, 4], SimpleRnn(64) over 4 x 32 coefficients; the head over [last, mean, max].
        long expected = (2 * 2) + ((32 * 64) + 64)
            + (64 * 8) + ((128 * 64) + (64 * 64) + 64)
            + (64 * 4) + ((128 * 64) + 64 + (64 * 64) + 64)
            + ((3 * 64 * 2) + 2);
        Assert.AreEqual(expected, info.ParameterCount);
    }

    [TestMethod]
    public void TheTwoChannelPipelineFitsAndScores()
    {
        var network = new LmuNetworkOptions
        {
            Layer = new LmuLayerOptions { InputSize = 2, Order = 8, Theta = Steps, MemoryD = 1, HiddenCell = HiddenCell.SimpleRnn, HiddenUnits = 8 },
            Readout = LmuReadout.LastStepMeanAndMax, OutputSize = 2,
        };
        var info = FitAndScore(network, Steps, rows: 32, slope: 0.1, seed: 2, epochs: 2);
        Assert.AreEqual(2, info.Channels);
        Assert.AreEqual(LmuInputLayout.ChannelMajor, info.InputLayout);
        // One memory encoding both channels (e_x 2 x 1), 8 hidden units reading it (W_ih 8 x 8, b_ih, W_hh, b_hh), a
        // head over [last, mean, max] of 8 units.
        Assert.AreEqual((2 * 1) + (8 * 8 + 8 + 8 * 8 + 8) + (24 * 2 + 2), info.ParameterCount);
    }

    /// <summary>
    /// Fits the two-channel pipeline for <paramref name="network"/> on rows of <paramref name="steps"/> values that rise
    /// or fall (the label) by <paramref name="slope"/> per step under uniform noise, checks that every row scores two
    /// finite values, and returns the fitted classifier's description.
    /// </summary>
    private static LmuClassifierModelInfo FitAndScore(LmuNetworkOptions network, int steps, int rows, double slope, int seed, int epochs)
    {
        var ml = new MLContext(1);
        var rng = new Random(seed);
        var list = Enumerable.Range(0, rows).Select(i => new Row
        {
            Label = i % 2 == 0 ? "up" : "down",
            Features = Enumerable.Range(0, steps).Select(t => (float)(((i % 2 == 0 ? t : -t) * slope) + rng.NextDouble() - 0.5)).ToArray(),
        }).ToList();
        var schema = SchemaDefinition.Create(typeof(Row));
        schema[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, steps);
        var data = ml.Data.LoadFromEnumerable(list, schema);
        var options = UcrDefaultPipeline.Options(network, steps, 2, both: true, epochs: epochs, seed: 7, threads: 1);
        using var model = (TransformerChain<LmuClassifierTransformer>)UcrDefaultPipeline.Create(ml, options, both: true).Fit(data);
        var scores = model.Transform(data).GetColumn<float[]>("Score").ToArray();
        Assert.IsTrue(scores.All(s => s.Length == 2 && s.All(float.IsFinite)));
        return model.LastTransformer.Info;
    }

    private sealed class Row
    {
        public string Label { get; set; } = string.Empty;

        public float[] Features { get; set; } = [];
    }
}
