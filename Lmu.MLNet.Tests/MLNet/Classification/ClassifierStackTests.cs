using Lmu.MLNet.Classification;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;

namespace Lmu.MLNet.Tests.MLNet.Classification;

/// <summary>
/// The classifier over stacks (<see cref="LmuClassifierOptions.Layers"/>): it trains, its carried graph equals the
/// trained TorchSharp network (1e-4, as the single-layer parity test), its zip reloads to the same scores, and the
/// single <c>Layer</c> and <c>Layers</c> cannot both be used.
/// </summary>
[TestClass]
public sealed class ClassifierStackTests : ClassifierTestBase
{
    /// <summary>A parallel Dense layer under a recurrent SimpleRnn layer (hidden-to-memory): both torch forms at once.</summary>
    private static LmuClassifierOptions TwoLayers(int epochs) => new()
    {
        Layers =
        [
            new LmuLayerOptions { Order = 12, HiddenCell = HiddenCell.Dense, HiddenUnits = 16 },
            new LmuLayerOptions { Order = 8, HiddenCell = HiddenCell.SimpleRnn, HiddenUnits = 8, HiddenToMemory = true },
        ],
        HeadHiddenSizes = [16],
        Training = new LmuTrainingOptions { Epochs = epochs, BatchSize = 16, LearningRate = 1e-2, Seed = 7 },
    };

    private static LmuClassifierOptions ThreeLayers(int epochs) => new()
    {
        Layers =
        [
            new LmuLayerOptions { Order = 6, MemoryD = 1, HiddenCell = HiddenCell.None, InputToHidden = true },
            new LmuLayerOptions { Order = 4, MemoryD = 2, HiddenCell = HiddenCell.Gru, HiddenUnits = 6, MemoryToMemory = true },
            new LmuLayerOptions { Order = 8, HiddenCell = HiddenCell.Dense, HiddenUnits = 8 },
        ],
        Training = new LmuTrainingOptions { Epochs = epochs, BatchSize = 32, LearningRate = 1e-2, Seed = 7 },
    };

    [TestMethod]
    public void ATwoLayerStackLearnsTheDelayedPattern()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var (train, map) = ClassifierSetup.Keyed(ml, ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(300, 1)));
        var test = map.Transform(ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(150, 2)));
        var options = TwoLayers(epochs: 8);
        using var model = ml.MulticlassClassification.Trainers.Lmu(options).Fit(train);
        var accuracy = ml.MulticlassClassification.Evaluate(model.Transform(test)).MicroAccuracy;
        // Chance is 1/3, and a network that forgot steps 0-7 stays there; the stack must carry them to step 23.
        Assert.IsGreaterThanOrEqualTo(0.85, accuracy, $"held-out accuracy {accuracy:P1}");
        Bound.Below(model.Info.History[0].TrainLoss, model.Info.History[^1].TrainLoss);
        // Layer 1 reads layer 0's 16 outputs: (1*1 + 12*16 + 16) + (16*1 + 1*8 + 8*8 + 8*8 + 8 + 8) + head (8*16 + 16 + 16*3 + 3).
        Assert.AreEqual((1 + 12 * 16 + 16) + (16 + 8 + 64 + 64 + 8 + 8) + (8 * 16 + 16 + 16 * 3 + 3), model.Info.ParameterCount);
    }

    [TestMethod]
    [DataRow(2)]
    [DataRow(3)]
    public void TheCarriedGraphAndTheSavedZipEqualTheTrainedStack(int layers)
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var options = layers == 2 ? TwoLayers(epochs: 1) : ThreeLayers(epochs: 1);
        using var model = FitAndAssertCarriedEqualsTrained(
            ml, ml.Transforms.LmuClassifier(options), DelayedPatternData.Rows(96, 20), DelayedPatternData.Rows(40, 21), $"{layers} layers", net =>
            {
                Assert.HasCount(layers, net.Layers);
                Assert.AreEqual(LmuExecutionMode.Parallel, net.Layers[0].ResolveMode(false), "the feed-forward first layer trains in parallel form");
                Assert.AreNotEqual(LmuExecutionMode.Parallel, net.Layers[1].ResolveMode(false), "the recurrent second layer does not");
                Assert.IsTrue(net.Layers.All(l => l.Options.Theta == DelayedPatternData.Steps), "ThetaFromSequenceLength sets every layer's theta");
                Assert.AreEqual(1, net.Layers[0].Options.InputSize);
                Assert.AreEqual(net.Layers[0].OutputSize, net.Layers[1].Options.InputSize, "layer 1 reads layer 0's outputs");
            });
    }

    [TestMethod]
    public void LayerAndLayersCannotBothBeUsed()
    {
        var both = TwoLayers(1);
        both.Layer = new LmuLayerOptions { Order = 4 };
        var e = Assert.ThrowsExactly<ArgumentException>(both.Validate);
        StringAssert.Contains(e.Message, "LmuClassifierOptions.Layers and Layer are both used");
        Assert.AreEqual("Layers", e.ParamName);

        // Editing the single layer and then giving a stack would lose the edit: refused the same way.
        var edited = new LmuClassifierOptions();
        edited.Layer.Order = 8;
        edited.Layers = TwoLayers(1).Layers;
        Assert.ThrowsExactly<ArgumentException>(edited.Validate);

        // With a stack, Layer is its first layer: an edit through it edits that layer, as documented (QA: the docs said
        // such an edit was refused).
        var stack = TwoLayers(1);
        Assert.AreSame(stack.Layers[0], stack.Layer);
        stack.Layer.Order = 12;
        Assert.AreEqual(12, stack.Layers[0].Order);
        stack.Validate();

        // A clone keeps the stack.
        var copy = stack.Clone();
        Assert.HasCount(2, copy.Layers);
        Assert.AreNotSame(stack.Layers[1], copy.Layers[1]);
        copy.Validate();

        var bad = TwoLayers(1);
        bad.Layers = [bad.Layers[0], new LmuLayerOptions { Order = 0 }];
        e = Assert.ThrowsExactly<ArgumentException>(bad.Validate);
        StringAssert.Contains(e.Message, "Layers[1]: LMU option Order = 0 must be from 1 to 1024");
        Assert.AreEqual("Layers[1].Order", e.ParamName);
        bad.Layers = [bad.Layers[0], null!];
        Assert.ThrowsExactly<ArgumentNullException>(bad.Validate);

        // A single layer, given as Layer or as a stack of one, is named by that path too (QA: the bare "Dropout").
        var single = new LmuClassifierOptions { Layer = new LmuLayerOptions { Dropout = 2 } };
        e = Assert.ThrowsExactly<ArgumentException>(single.Validate);
        StringAssert.Contains(e.Message, "Layer: LMU option Dropout = 2 must be in [0, 1)");
        Assert.AreEqual("Layer.Dropout", e.ParamName);
        single = new LmuClassifierOptions { Layers = [new LmuLayerOptions { Dropout = 2 }] };
        Assert.AreEqual("Layers[0].Dropout", Assert.ThrowsExactly<ArgumentException>(single.Validate).ParamName);
        var forecaster = new Lmu.MLNet.Forecasting.LmuForecastingOptions { WindowSize = 8, Horizon = 1, Layer = new LmuLayerOptions { Dropout = 2 } };
        Assert.AreEqual("Layer.Dropout", Assert.ThrowsExactly<ArgumentException>(forecaster.Validate).ParamName);
    }

    [TestMethod]
    public void TheNetworkOptionsRefuseALayerThatDoesNotReadItsPredecessor()
    {
        var o = new LmuNetworkOptions
        {
            Layers = [new LmuLayerOptions { HiddenUnits = 16 }, new LmuLayerOptions { InputSize = 3 }],
            OutputSize = 2,
        };
        var e = Assert.ThrowsExactly<ArgumentException>(o.Validate);
        StringAssert.Contains(e.Message, "Layers[1].InputSize = 3 must equal the output width of Layers[0] (16)");
        o.Layers[1].InputSize = 16;
        o.Validate();
        using var net = new LmuNetwork(o);
        Assert.HasCount(2, net.Layers);
        Assert.AreSame(net.Layers[0], net.Layer);
    }
}
