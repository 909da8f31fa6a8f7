using Lmu.MLNet.Classification;
using Lmu.MLNet.Featurize;
using Lmu.MLNet.Forecasting;
using Lmu.MLNet.Ridge;
using Lmu.MLNet.Tests.MLNet.Classification;
using Lmu.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet;

/// <summary>
/// A row whose array is shorter or longer than its column's [VectorType] (ML.NET's LoadFromEnumerable passes it through
/// as it is) is refused by every Fit before training, naming the column, the row and both sizes (found by QA: the
/// classifier trained on a short row padded with zeros and failed mid-training on a long one, naming its shuffled
/// position; the pooled featurizer and ridge spliced a short row with the previous row's values and failed on a long one
/// in .NET's words; the forecaster read a short window padded with zeros).
/// </summary>
[TestClass]
public sealed class WrongSizeRowTests : ClassifierTestBase
{
    private const int BadRow = 17;

    [TestMethod]
    public void TheClassifierRefusesAShortOrLongRowBeforeTraining()
    {
        foreach (var size in new[] { DelayedPatternData.Steps - 5, DelayedPatternData.Steps + 5 })
        {
            var ml = ClassifierSetup.Context(MlTemp);
            var epochs = 0;
            var options = ClassifierSetup.Parallel(epochs: 2);
            options.Progress = new Inline(_ => epochs++);
            var e = Assert.ThrowsExactly<InvalidDataException>(() => ml.Transforms.LmuClassifier(options).Fit(Data(ml, size)));
            AssertNames(e, size, "Features column 'Features', training row 17");
            Assert.AreEqual(0, epochs, "refused before training");
            AssertNoTempFiles();
        }
    }

    [TestMethod]
    public void ThePooledFeaturizerRefusesAShortOrLongRow()
    {
        foreach (var size in new[] { DelayedPatternData.Steps - 5, DelayedPatternData.Steps + 5 })
        {
            var ml = ClassifierSetup.Context(MlTemp);
            var pooled = ml.Transforms.LmuPooledFeaturize(new LmuPooledFeaturizerOptions { OutputColumnName = "P", InputColumnName = "Features", Windows = 2, ProjectionsPerWindow = 2, Order = 4, Seed = 1 });
            var e = Assert.ThrowsExactly<InvalidDataException>(() => pooled.Fit(Data(ml, size)));
            AssertNames(e, size, "LmuPooledFeaturize: input column 'Features', row 17");
        }
    }

    [TestMethod]
    public void RidgeRefusesAShortOrLongRow()
    {
        foreach (var size in new[] { DelayedPatternData.Steps - 5, DelayedPatternData.Steps + 5 })
        {
            var ml = ClassifierSetup.Context(MlTemp);
            var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(Data(ml, DelayedPatternData.Steps)).Transform(Data(ml, size));
            var e = Assert.ThrowsExactly<InvalidDataException>(() => ml.MulticlassClassification.Trainers.Ridge().Fit(keyed));
            AssertNames(e, size, "RidgeClassifier: features column 'Features', row 17");
        }
    }

    [TestMethod]
    public void TheExperimentRefusesAShortOrLongRowBeforeAnyTrial()
    {
        foreach (var size in new[] { DelayedPatternData.Steps - 5, DelayedPatternData.Steps + 5 })
        {
            var ml = ClassifierSetup.Context(MlTemp);
            var trials = 0;
            var settings = new Lmu.MLNet.Experiments.LmuExperimentSettings { MaxExperimentTimeInSeconds = 30, Seed = 1, BeforeTrial = _ => trials++ };
            var e = Assert.ThrowsExactly<InvalidDataException>(() => new Lmu.MLNet.Experiments.LmuClassificationExperiment(ml, settings).Execute(Data(ml, size)));
            AssertNames(e, size, "LMU experiment: features column 'Features', training row 17");
            Assert.AreEqual(0, trials);
        }
    }

    [TestMethod]
    public void TheForecasterRefusesAShortOrLongWindow()
    {
        foreach (var size in new[] { WindowRow.Steps - 3, WindowRow.Steps + 3 })
        {
            var ml = new MLContext(1);
            var rows = Enumerable.Range(0, 40).Select(i => new WindowRow
            {
                Window = Enumerable.Range(i, i == BadRow ? size : WindowRow.Steps).Select(t => (float)Math.Sin(t * 0.5)).ToArray(),
                Label = Enumerable.Range(i + WindowRow.Steps, WindowRow.Ahead).Select(t => (float)Math.Sin(t * 0.5)).ToArray(),
            }).ToList();
            var options = new LmuForecastingOptions
            {
                WindowSize = WindowRow.Steps,
                Horizon = WindowRow.Ahead,
                Training = new LmuTrainingOptions { Epochs = 1, Seed = 1 },
            };
            var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Forecasting.ForecastByLmu(options).Fit(ml.Data.LoadFromEnumerable(rows)));
            StringAssert.Contains(e.Message, $"Column 'Window', row {BadRow}: {size} values, but the column's type is Vector<Single, {WindowRow.Steps}>; each row must hold exactly {WindowRow.Steps}");
        }
    }

    private static IDataView Data(MLContext ml, int badSize)
    {
        var rows = DelayedPatternData.Rows(30, 4);
        rows[BadRow].Features = Enumerable.Range(0, badSize).Select(i => rows[BadRow].Features[i % DelayedPatternData.Steps]).ToArray();
        return ml.Data.LoadFromEnumerable(rows);
    }

    private static void AssertNames(Exception e, int size, string where) =>
        StringAssert.Contains(e.Message, $"{where}: {size} values, but the column's type is Vector<Single, {DelayedPatternData.Steps}>; each row must hold exactly {DelayedPatternData.Steps}");

    private sealed class WindowRow
    {
        public const int Steps = 16;
        public const int Ahead = 2;

        [VectorType(Steps)]
        public float[] Window { get; set; } = [];

        [VectorType(Ahead)]
        public float[] Label { get; set; } = [];
    }
}
