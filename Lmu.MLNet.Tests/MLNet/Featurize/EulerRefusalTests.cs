using Lmu.MLNet.Classification;
using Lmu.MLNet.Featurize;
using Lmu.MLNet.Maths;
using Lmu.MLNet.Modules;
using Microsoft.ML;

namespace Lmu.MLNet.Tests.MLNet.Featurize;

/// <summary>
/// An Euler memory below its stability bound is refused before any work, naming the option and the bound (found by QA:
/// the memory grew by 4e32 over a row and the execution forms disagreed); at and above the bound it runs. Layers,
/// networks and the classifier check their layer options; the featurizers check theta as given or as resolved at Fit.
/// </summary>
[TestClass]
public sealed class EulerRefusalTests
{
    [TestMethod]
    public void ALayerBelowTheBoundIsRefusedNamingTheta()
    {
        var o = new LmuLayerOptions { InputSize = 3, Order = 11, Theta = 14.63, Discretizer = LmuDiscretizer.Euler, HiddenCell = HiddenCell.Gru, HiddenUnits = 8 };
        var e = Assert.ThrowsExactly<ArgumentException>(() => new LmuLayer(o));
        Assert.AreEqual("Theta", e.ParamName);
        var bound = EulerStability.MinimumTheta(11);
        StringAssert.Contains(e.Message, "LMU option Theta = 14.63 is below ");
        StringAssert.Contains(e.Message, "the smallest theta at which the Euler discretisation of an order-11 memory is stable");
        StringAssert.Contains(e.Message, "LmuDiscretizer.Zoh");

        // The bound printed (rounded up) is itself accepted, and ZOH takes any theta.
        var printed = double.Parse(e.Message.Split("raise theta to at least ")[1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.IsTrue(printed >= bound && printed <= bound * 1.001, $"{printed} against {bound}");
        o.Theta = printed;
        using (new LmuLayer(o)) { }
        o.Theta = 14.63;
        o.Discretizer = LmuDiscretizer.Zoh;
        using (new LmuLayer(o)) { }
    }

    [TestMethod]
    public void TheClassifiersLayerIsCheckedBeforeTraining()
    {
        // A theta the caller gives is checked when the estimator is made.
        var options = new LmuClassifierOptions { Channels = 1, ThetaFromSequenceLength = false, Layer = new LmuLayerOptions { Order = 32, Theta = 100, Discretizer = LmuDiscretizer.Euler } };
        var e = Assert.ThrowsExactly<ArgumentException>(() => new MLContext(seed: 1).Transforms.LmuClassifier(options));
        StringAssert.Contains(e.Message, "Theta = 100 is below 196.9,");

        // With ThetaFromSequenceLength (the default) the layer's Theta is a placeholder: it is not judged until Fit
        // knows the sequence length (review: the default 64 refused a layer that rows of 300 steps would have run), and
        // the refusal then says where the theta came from.
        options.ThetaFromSequenceLength = true;
        var ml = new MLContext(seed: 1);
        var estimator = ml.Transforms.LmuClassifier(options);
        var data = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(Classification.DelayedPatternData.Rows(12, 1)))
            .Transform(ml.Data.LoadFromEnumerable(Classification.DelayedPatternData.Rows(12, 1)));
        e = Assert.ThrowsExactly<ArgumentException>(() => estimator.Fit(data));
        var steps = Classification.DelayedPatternData.Steps;
        StringAssert.Contains(e.Message, $"LmuClassifierOptions.ThetaFromSequenceLength (true) sets each layer's Theta to the sequence length, {steps}: Layer: LMU option Theta = {steps} is below 196.9,");
    }

    [TestMethod]
    public void TheForecastersLayerIsCheckedWithItsOptions()
    {
        // It was refused only at Fit (review).
        var options = new Lmu.MLNet.Forecasting.LmuForecastingOptions
        {
            WindowSize = 24, Horizon = 2, Layer = new LmuLayerOptions { Order = 8, Theta = 10, Discretizer = LmuDiscretizer.Euler },
        };
        var e = Assert.ThrowsExactly<ArgumentException>(() => options.Validate());
        StringAssert.Contains(e.Message, "Theta = 10 is below 17.74,");
        options.Layer.Theta = 18;
        options.Validate();
    }

    [TestMethod]
    public void EulerAboveOrder512IsRefusedWhateverTheTheta()
    {
        // Above order 512 the bound cannot be computed to 2 % in float64 (review: 65,934 against LAPACK's 67,456 at 1,024).
        var o = new LmuLayerOptions { Order = 600, Theta = 1e9, Discretizer = LmuDiscretizer.Euler };
        var e = Assert.ThrowsExactly<ArgumentException>(() => o.Validate());
        StringAssert.Contains(e.Message, "LMU option Theta = 1000000000 cannot be checked for stability at Order 600: the Euler discretisation is offered up to order 512");
        o.Order = 512;
        o.Validate();
    }

    [TestMethod]
    public void TheFeaturizerChecksThetaAsGivenOrAsTheSequenceLength()
    {
        var given = new LmuFeaturizerOptions { Order = 16, Theta = 40, Discretizer = LmuDiscretizer.Euler };
        var e = Assert.ThrowsExactly<ArgumentException>(() => new MLContext().Transforms.LmuFeaturize(given));
        StringAssert.Contains(e.Message, "LmuFeaturizerOptions.Theta = 40 is below 59.73,");
        Assert.AreEqual("Theta", e.ParamName, "the option's own name, as every other refusal gives it");

        // Null theta is the sequence length, known at Fit: 24 steps are too few for order 16, 64 are enough.
        var ml = new MLContext(seed: 1);
        var resolved = new LmuFeaturizerOptions { Order = 16, Discretizer = LmuDiscretizer.Euler };
        e = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.LmuFeaturize(resolved).Fit(FeaturizerData.Load(ml, FeaturizerData.Random(3, 24, 1, seed: 2), 24)));
        StringAssert.Contains(e.Message, "LmuFeaturizerOptions.Theta = 24 (null: the sequence length of 'Features') is below 59.73,");
        Assert.AreEqual("Theta", e.ParamName);
        var fitted = ml.Transforms.LmuFeaturize(resolved).Fit(FeaturizerData.Load(ml, FeaturizerData.Random(3, 64, 1, seed: 2), 64));
        fitted.Dispose();
    }

    [TestMethod]
    public void ThePooledFeaturizerChecksItsSmallestTheta()
    {
        var ml = new MLContext(seed: 1);
        var data = FeaturizerData.Load(ml, FeaturizerData.Random(6, 30, 1, seed: 2), 30);
        // The default MinTheta, min(8, T), is below order 9's bound (21.84).
        var defaults = new LmuPooledFeaturizerOptions { Order = 9, Discretizer = LmuDiscretizer.Euler, Seed = 1 };
        var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.LmuPooledFeaturize(defaults).Fit(data));
        StringAssert.Contains(e.Message, "LmuPooledFeaturizerOptions.MinTheta = 8 (null: min(8, the sequence length 30)) is below 21.84,");
        Assert.AreEqual("MinTheta", e.ParamName);
        var given = new LmuPooledFeaturizerOptions { Order = 9, MinTheta = 12, Discretizer = LmuDiscretizer.Euler, Seed = 1 };
        e = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.LmuPooledFeaturize(given));
        StringAssert.Contains(e.Message, "LmuPooledFeaturizerOptions.MinTheta = 12 is below 21.84,");
        Assert.AreEqual("MinTheta", e.ParamName);
        given.MinTheta = 22;
        ml.Transforms.LmuPooledFeaturize(given).Fit(data).Dispose();
    }
}
