using System.Globalization;
using Lmu.MLNet.Training;

namespace Lmu.MLNet.Tests.Training;

/// <summary>
/// An epoch's log line reads the same under every culture, as the library's other log lines do (found by the
/// environment QA: fa-IR wrote "0٫2421" and "6٫16E‎−05", tr-TR "acc %100,00").
/// </summary>
[TestClass]
public sealed class EpochReportTextTests
{
    [TestMethod]
    [DataRow("fa-IR")]
    [DataRow("tr-TR")]
    [DataRow("de-DE")]
    [DataRow("")]
    public void TheLineIsWrittenInTheInvariantCulture(string culture)
    {
        var report = new LmuEpochReport(3, 10, 0.24213, 1.0, 0.5, 0.875, TimeSpan.FromSeconds(61), TimeSpan.FromSeconds(3723), 6.16e-5);
        var before = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo(culture);
            Assert.AreEqual(
                "epoch 3/10: train loss 0.2421 acc 100.00% | valid loss 0.5000 acc 87.50% | lr 6.16E-05 | 00:01:01 elapsed, ETA 01:02:03",
                report.ToString());
        }
        finally
        {
            CultureInfo.CurrentCulture = before;
        }
    }
}
