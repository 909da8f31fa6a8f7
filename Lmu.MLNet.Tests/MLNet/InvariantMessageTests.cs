using System.Globalization;
using Lmu.MLNet.Featurize;
using Lmu.MLNet.Tests.MLNet.Classification;
using Lmu.MLNet.Training;
using Microsoft.ML;

namespace Lmu.MLNet.Tests.MLNet;

/// <summary>
/// Exception messages write numbers the same way under every culture (found by QA: "LearningRate = -0,25" under de-DE,
/// a right-to-left mark before it and Arabic digits' separator under ar-SA, and "value ليس رقم" for NaN), since they
/// quote values a user compares with their code and data files.
/// </summary>
[TestClass]
public sealed class InvariantMessageTests : ClassifierTestBase
{
    [TestMethod]
    public void OptionValuesAndBadDataValuesAreWrittenInvariantly()
    {
        var original = (CultureInfo.CurrentCulture, CultureInfo.CurrentUICulture);
        try
        {
            foreach (var culture in new[] { "de-DE", "ar-SA", "fa-IR" })
            {
                CultureInfo.CurrentCulture = CultureInfo.CurrentUICulture = CultureInfo.GetCultureInfo(culture);
                var rate = Assert.ThrowsExactly<ArgumentException>(() => new LmuTrainingOptions { LearningRate = -0.25 }.Validate());
                StringAssert.Contains(rate.Message, "LearningRate = -0.25 ", culture);

                var pooled = Assert.ThrowsExactly<ArgumentException>(() => new LmuPooledFeaturizerOptions { OutputColumnName = "P", MinTheta = 2.5, MaxTheta = 1.5 }.Validate());
                StringAssert.Contains(pooled.Message, "(2.5) must not exceed MaxTheta (1.5)", culture);

                var theta = Assert.ThrowsExactly<ArgumentException>(() => new LmuFeaturizerOptions { OutputColumnName = "F", Theta = -2.5 }.Validate());
                StringAssert.Contains(theta.Message, "but was -2.5", culture);

                var forecastContext = new MLContext(1);
                var windows = Enumerable.Range(0, 12).Select(i => new WindowRow { Window = [1, 2, i == 5 ? float.NaN : 3, 4], Label = [5] }).ToList();
                var forecast = Assert.ThrowsExactly<ArgumentException>(() => forecastContext.Forecasting.ForecastByLmu(new Lmu.MLNet.Forecasting.LmuForecastingOptions
                {
                    WindowSize = 4, Horizon = 1, Training = new LmuTrainingOptions { Epochs = 1, Seed = 1 },
                }).Fit(forecastContext.Data.LoadFromEnumerable(windows)));
                StringAssert.Contains(forecast.Message, "Column 'Window' has NaN at slot 2 of row 5", culture);

                var ml = ClassifierSetup.Context(MlTemp);
                var rows = DelayedPatternData.Rows(12, 1);
                rows[3].Features[5] = float.NaN;
                var bad = Assert.ThrowsExactly<InvalidDataException>(() => ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 1)).Fit(ml.Data.LoadFromEnumerable(rows)));
                StringAssert.Contains(bad.Message, "value NaN; expected a finite number", culture);
            }
        }
        finally
        {
            (CultureInfo.CurrentCulture, CultureInfo.CurrentUICulture) = original;
        }
    }

    private sealed class WindowRow
    {
        [Microsoft.ML.Data.VectorType(4)]
        public float[] Window { get; set; } = [];

        [Microsoft.ML.Data.VectorType(1)]
        public float[] Label { get; set; } = [];
    }
}
