using System.Diagnostics;
using Lmu.MLNet.Tests.Infrastructure;
using Lmu.MLNet.Tests.MLNet.Classification;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>
/// The <c>mackey-glass</c> command generates its series, so it runs where the shared folder is absent (the shared
/// reference only checks the generator; without it the command refused to run, found by QA), and a run too short for a
/// validation split says so instead of printing an empty loss.
/// </summary>
[TestClass]
public sealed class MackeyGlassCommandTests : ClassifierTestBase
{
    private static readonly string[] ShortRun = ["mackey-glass", "--series", "2", "--length", "101", "--epochs", "1", "--units", "8"];

    [TestMethod]
    public void WithoutTheSharedReferenceTheProtocolRunsAndSaysTheGeneratorWasNotChecked()
    {
        var app = SamplesApp.Copy(SamplesApp.Output(), Path.Combine(Temp, "app"));
        var (code, log) = SamplesApp.RunWithoutShared(app, Temp, TimeSpan.FromMinutes(2), ShortRun);
        Assert.AreEqual(0, code, log);
        StringAssert.Contains(log, "Generator not checked: shared/data/forecasting/mackey_glass_tau17_const_history_1115.csv was not found");
        StringAssert.Contains(log, "epoch 1/1: train loss ");
        StringAssert.Contains(log, ", no validation windows, ");
        Assert.DoesNotContain("validation loss ,", log);
        StringAssert.Contains(log, "Test NRMSE of x(t+15): ");
    }

    [TestMethod]
    public void WithTheSharedReferenceTheGeneratorIsChecked()
    {
        var shared = Path.GetDirectoryName(Path.GetDirectoryName(SharedData.Directory("forecasting")))!;
        var start = SamplesApp.StartInfo(SamplesApp.Output(), Temp, ShortRun);
        start.Environment[SharedData.EnvironmentVariable] = shared;
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        Assert.IsTrue(process.WaitForExit(TimeSpan.FromMinutes(2)), "mackey-glass did not finish within 2 minutes");
        var log = stdout.Result + stderr.Result;
        Assert.AreEqual(0, process.ExitCode, log);
        StringAssert.Contains(log, "Generator vs shared reference (constant history, 1115 samples): max |diff| = ");
        Assert.DoesNotContain("Generator not checked", log);
    }
}
