using Lmu.MLNet.Classification;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;

namespace Lmu.MLNet.Tests.MLNet.Classification;

/// <summary>
/// The classifier with a pooling readout (<see cref="LmuClassifierOptions.Readout"/>): it learns a pattern that occurs
/// anywhere in the row, its carried graph equals the trained TorchSharp network (1e-4, as every parity test) and its
/// zip reloads to the same scores.
/// </summary>
[TestClass]
public sealed class ClassifierReadoutTests : ClassifierTestBase
{
    private const int LatestStart = DelayedPatternData.Steps - 4;

    [TestMethod]
    public void APooledReadoutFindsAPatternWhereverItOccurs()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var (train, map) = ClassifierSetup.Keyed(ml, ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(300, 1, LatestStart)));
        var test = map.Transform(ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(150, 2, LatestStart)));
        LmuClassifierOptions Options(LmuReadout readout)
        {
            var o = new LmuClassifierOptions
            {
                Layer = new LmuLayerOptions { Order = 4, HiddenCell = HiddenCell.Dense, HiddenUnits = 16 },
                ThetaFromSequenceLength = false,
                Readout = readout,
                Training = new LmuTrainingOptions { Epochs = 10, BatchSize = 16, LearningRate = 1e-2, Seed = 7 },
            };
            o.Layer.Theta = 4;
            return o;
        }

        using var model = ml.MulticlassClassification.Trainers.Lmu(Options(LmuReadout.MeanAndMax)).Fit(train);
        var accuracy = ml.MulticlassClassification.Evaluate(model.Transform(test)).MicroAccuracy;
        // A 4-step memory sees a pattern only while it passes; only a pool over every step can find it (chance 1/3).
        Assert.IsGreaterThanOrEqualTo(0.9, accuracy, $"held-out accuracy {accuracy:P1}");
        // e_x, the Dense cell over the 4 memory values, and a head that reads [mean, max] of 16 units: 32 x 3 + 3.
        Assert.AreEqual((1 + 4 * 16 + 16) + (32 * 3 + 3), model.Info.ParameterCount);

        // The control: the same network reading the last step sees only the last 4 steps (measured 45 %).
        using var last = ml.MulticlassClassification.Trainers.Lmu(Options(LmuReadout.LastStep)).Fit(train);
        var lastAccuracy = ml.MulticlassClassification.Evaluate(last.Transform(test)).MicroAccuracy;
        Bound.Below(0.7, lastAccuracy, $"last-step control {lastAccuracy:P1}: the task does not need a pool");
    }

    [TestMethod]
    [DataRow(LmuReadout.Mean, HiddenCell.SimpleRnn)]
    [DataRow(LmuReadout.MeanAndMax, HiddenCell.Dense)]
    [DataRow(LmuReadout.LastStepMeanAndMax, HiddenCell.SimpleRnn)]
    public void TheCarriedGraphAndTheSavedZipEqualTheTrainedNetwork(LmuReadout readout, HiddenCell cell)
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var options = new LmuClassifierOptions
        {
            Layer = new LmuLayerOptions { Order = 6, HiddenCell = cell, HiddenUnits = 8, HiddenToMemory = cell == HiddenCell.SimpleRnn },
            Readout = readout,
            Training = new LmuTrainingOptions { Epochs = 1, BatchSize = 16, LearningRate = 1e-2, Seed = 7 },
        };
        using var model = FitAndAssertCarriedEqualsTrained(
            ml, ml.Transforms.LmuClassifier(options), DelayedPatternData.Rows(96, 20, LatestStart), DelayedPatternData.Rows(40, 21, LatestStart),
            $"{readout} {cell}", net => Assert.AreEqual(readout, net.Options.Readout));
    }

    [TestMethod]
    public void AnUndefinedReadoutIsRefusedBeforeTraining()
    {
        var options = new LmuClassifierOptions { Readout = (LmuReadout)9 };
        var e = Assert.ThrowsExactly<ArgumentException>(options.Validate);
        StringAssert.Contains(e.Message, "Readout = 9");
        Assert.AreEqual("Readout", e.ParamName);
    }

    [TestMethod]
    public void AnUndefinedHeadActivationIsRefusedInTheOptionsTerms()
    {
        // Found by QA: "Unknown activation. (Parameter 'activation')" at the first forward pass, in no option's terms.
        foreach (var validate in new Action[]
        {
            new LmuClassifierOptions { HeadActivation = (LmuActivation)99 }.Validate,
            new Lmu.MLNet.Forecasting.LmuForecastingOptions { WindowSize = 8, Horizon = 2, HeadActivation = (LmuActivation)99 }.Validate,
            new Lmu.MLNet.Modules.LmuNetworkOptions { Layer = new Lmu.MLNet.Modules.LmuLayerOptions { InputSize = 1 }, OutputSize = 2, HeadActivation = (LmuActivation)99 }.Validate,
        })
        {
            var e = Assert.ThrowsExactly<ArgumentException>(validate);
            StringAssert.Contains(e.Message, "HeadActivation = 99");
            Assert.AreEqual("HeadActivation", e.ParamName);
        }
    }
}
