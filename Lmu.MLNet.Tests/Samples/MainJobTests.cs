using Lmu.MLNet.Tests.Infrastructure;
using Lmu.MLNet.Tests.MLNet.Classification;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>
/// The main job (the README's first command) from a copy of the app with no shared/ folder in reach: it must fall back
/// to the shipped digits and still train, evaluate, save, reload, predict and write its figures. Two epochs keep it short.
/// </summary>
[TestClass]
public sealed class MainJobTests : ClassifierTestBase
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    [TestMethod]
    public void WithoutSharedDataTheMainJobRunsOnTheShippedDigits()
    {
        var app = SamplesApp.Copy(SamplesApp.Output(), Path.Combine(Temp, "app"));
        var output = Path.Combine(Temp, "out");
        var (code, log) = SamplesApp.RunWithoutShared(app, Temp, TimeSpan.FromMinutes(3), "--epochs", "2", "--threads", "1", "--output", output);
        Assert.AreEqual(0, code, log);
        StringAssert.Contains(log, "Digits 8x8 (UCI, CC BY 4.0)");
        StringAssert.Contains(log, "1348 train / 449 test rows, 8 steps x 8 channel(s), 10 classes");
        StringAssert.Contains(log, "epoch 2/2");
        StringAssert.Contains(log, "test accuracy (micro / macro)");
        // The reloaded zip scores the few rows exactly as the in-memory model did.
        StringAssert.Contains(log, "max |diff| 0 over 8 rows");
        foreach (var file in new[] { "model.zip", "training.png", "confusion.png" })
        {
            var path = Path.Combine(output, file);
            Assert.IsTrue(File.Exists(path), $"{file} missing; log:\n{log}");
            Assert.IsGreaterThan(1000L, new FileInfo(path).Length, $"{file} is suspiciously small");
        }

        CollectionAssert.AreEqual(PngSignature, File.ReadAllBytes(Path.Combine(output, "confusion.png"))[..8]);
    }

    [TestMethod]
    public void ANamedUcrSetWithoutSharedDataIsAClearError()
    {
        var app = SamplesApp.CopyWithoutTorch(SamplesApp.Output(), Path.Combine(Temp, "app"));
        var (code, log) = SamplesApp.RunWithoutShared(app, Temp, TimeSpan.FromMinutes(1), "--dataset", "GunPoint", "--output", Path.Combine(Temp, "out"));
        Assert.AreNotEqual(0, code, log);
        StringAssert.Contains(log, "needs ../shared/data/ucr/GunPoint");
        Assert.IsFalse(Directory.Exists(Path.Combine(Temp, "out")), "nothing may be written when the data is missing");
    }
}
