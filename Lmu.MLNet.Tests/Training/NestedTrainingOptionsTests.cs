using Lmu.MLNet.Classification;
using Lmu.MLNet.Forecasting;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Training;
using Microsoft.ML;

namespace Lmu.MLNet.Tests.Training;

/// <summary>
/// Both ML.NET estimators take their optimisation settings as one nested <see cref="LmuTrainingOptions"/>
/// (<c>Training</c>): the same defaults where documented, deep copies, and validation messages that name the full path.
/// </summary>
[TestClass]
public sealed class NestedTrainingOptionsTests
{
    [TestMethod]
    public void ClassifierTrainingDefaultsAreTheDocumentedOnes()
    {
        var t = new LmuClassifierOptions().Training;
        Assert.AreEqual(10, t.Epochs);
        Assert.AreEqual(64, t.BatchSize);
        Assert.AreEqual(1e-3, t.LearningRate);
        Assert.AreEqual(LearningRateSchedule.Cosine, t.Schedule);
        Assert.AreEqual(0.0, t.WeightDecay);
        Assert.AreEqual(1.0, t.GradientClipNorm);
        Assert.AreEqual(0, t.EarlyStoppingPatience);
        Assert.AreEqual(1024, t.ScanStateBudgetMiB);
        Assert.IsNull(t.Seed, "null: the MLContext's seeded stream");
        Assert.IsNull(t.Device, "null: the MLContext's GPU settings");
    }

    [TestMethod]
    public void ForecasterTrainingDefaultsAreTheDocumentedOnes()
    {
        var t = new LmuForecastingOptions().Training;
        Assert.AreEqual(20, t.Epochs);
        Assert.AreEqual(64, t.BatchSize);
        Assert.AreEqual(1e-3, t.LearningRate);
        Assert.AreEqual(1024, t.ScanStateBudgetMiB);
        Assert.IsNull(t.Seed, "null: the MLContext's seeded stream");
        Assert.IsNull(t.Device, "null: the MLContext's GPU settings");
    }

    [TestMethod]
    public void ClassifierCloneAndEstimatorCopyTheTrainingOptions()
    {
        var options = new LmuClassifierOptions { Training = new LmuTrainingOptions { Epochs = 3, Device = "cpu" } };
        var copy = options.Clone();
        Assert.AreNotSame(options.Training, copy.Training);
        copy.Training.Epochs = 7;
        Assert.AreEqual(3, options.Training.Epochs);

        // The estimator keeps its own copy: changing the caller's object afterwards changes nothing it trains with.
        var estimator = new LmuClassifierEstimator(new MLContext(1), options);
        options.Training.Epochs = 99;
        Assert.AreEqual(3, estimator.Options.Training.Epochs);
        Assert.AreEqual("cpu", estimator.Options.Training.Device);
    }

    [TestMethod]
    public void ForecasterCloneCopiesTheTrainingOptions()
    {
        var options = new LmuForecastingOptions { WindowSize = 8, Horizon = 2, Layer = new LmuLayerOptions { Order = 4 }, HeadHiddenSizes = [3] };
        var copy = options.Clone();
        Assert.AreNotSame(options.Training, copy.Training);
        Assert.AreNotSame(options.Layer, copy.Layer);
        copy.Training.Epochs = 2;
        copy.Layer!.Order = 5;
        Assert.AreEqual(20, options.Training.Epochs);
        Assert.AreEqual(4, options.Layer.Order);
    }

    [TestMethod]
    public void SimpleCatalogArgumentsLandInTraining()
    {
        var ml = new MLContext(1);
        var fromTransforms = ml.Transforms.LmuClassifier(epochs: 4, batchSize: 8, learningRate: 0.02).Options.Training;
        var fromTrainers = ml.MulticlassClassification.Trainers.Lmu(epochs: 5, batchSize: 9, learningRate: 0.03).Options.Training;
        Assert.AreEqual((4, 8, 0.02), (fromTransforms.Epochs, fromTransforms.BatchSize, fromTransforms.LearningRate));
        Assert.AreEqual((5, 9, 0.03), (fromTrainers.Epochs, fromTrainers.BatchSize, fromTrainers.LearningRate));
    }

    [TestMethod]
    public void BadNestedValuesNameTheFullOptionPath()
    {
        var standalone = Assert.ThrowsExactly<ArgumentException>(() => new LmuTrainingOptions { BatchSize = 0 }.Validate());
        StringAssert.Contains(standalone.Message, "LmuTrainingOptions.BatchSize = 0 must be at least 1");
        Assert.AreEqual("BatchSize", standalone.ParamName);

        var classifier = new LmuClassifierOptions { Training = new LmuTrainingOptions { LearningRate = -1 } };
        var e = Assert.ThrowsExactly<ArgumentException>(classifier.Validate);
        StringAssert.Contains(e.Message, "LmuClassifierOptions.Training.LearningRate = -1 must be a finite number > 0");
        Assert.AreEqual("Training.LearningRate", e.ParamName);

        classifier = new LmuClassifierOptions { Training = new LmuTrainingOptions { Device = "tpu" } };
        e = Assert.ThrowsExactly<ArgumentException>(() => new LmuClassifierEstimator(new MLContext(1), classifier));
        StringAssert.Contains(e.Message, "LmuClassifierOptions.Training.Device = \"tpu\" must be null or name a device");

        var forecasting = new LmuForecastingOptions { WindowSize = 8, Horizon = 2, Training = new LmuTrainingOptions { Epochs = 0 } };
        e = Assert.ThrowsExactly<ArgumentException>(() => new MLContext(1).Forecasting.ForecastByLmu(forecasting));
        StringAssert.Contains(e.Message, "LmuForecastingOptions.Training.Epochs = 0 must be at least 1");
        Assert.AreEqual("Training.Epochs", e.ParamName);

        // A patience with nothing held out would be ignored silently by the trainer: both estimators refuse it.
        forecasting = new LmuForecastingOptions { WindowSize = 8, Horizon = 2, ValidationFraction = 0 };
        forecasting.Training.EarlyStoppingPatience = 3;
        e = Assert.ThrowsExactly<ArgumentException>(forecasting.Validate);
        StringAssert.Contains(e.Message, "LmuForecastingOptions.Training.EarlyStoppingPatience = 3 needs validation data");

        var nullTraining = Assert.ThrowsExactly<ArgumentNullException>(new LmuClassifierOptions { Training = null! }.Validate);
        StringAssert.Contains(nullTraining.Message, "LmuClassifierOptions.Training must not be null");
        nullTraining = Assert.ThrowsExactly<ArgumentNullException>(new LmuForecastingOptions { WindowSize = 8, Horizon = 2, Training = null! }.Validate);
        StringAssert.Contains(nullTraining.Message, "LmuForecastingOptions.Training must not be null");
    }
}
