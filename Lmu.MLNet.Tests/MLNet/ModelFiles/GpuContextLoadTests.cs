using Lmu.MLNet.Tests.MLNet.Classification;
using Microsoft.ML;

namespace Lmu.MLNet.Tests.MLNet.ModelFiles;

/// <summary>
/// Loading a model zip with a context that asks for a GPU while ONNX Runtime's CPU package is referenced: the file is
/// fine, so the error says what is wrong and how to load it (it read as a corrupt zip), and nothing is left behind.
/// </summary>
[TestClass]
public sealed class GpuContextLoadTests
{
    [TestMethod]
    public void ALoadOnAGpuContextWithoutTheCudaProviderSaysSoNotCorrupt()
    {
        var dir = Path.Combine(Path.GetTempPath(), "lmu-gpu-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var ml = ClassifierSetup.Context(dir);
            var data = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(30, 6));
            using var fitted = ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 1)).Fit(data);
            var path = Path.Combine(dir, "m.zip");
            LmuModelFile.Save(ml, fitted, data.Schema, path);
            var before = Directory.GetFileSystemEntries(dir).Length;

            var gpu = new MLContext(1) { GpuDeviceId = 0, FallbackToCpu = true, TempFilePath = dir };
            Exception? e = null;
            try
            {
                (LmuModelFile.Load(gpu, path, out _) as IDisposable)?.Dispose();
            }
            catch (Exception thrown)
            {
                e = thrown;
            }

            if (e is null)
            {
                Assert.Inconclusive("ONNX Runtime here has a CUDA provider, so the CPU-package path cannot be exercised.");
            }

            Assert.IsInstanceOfType<InvalidOperationException>(e, e.ToString());
            StringAssert.Contains(e.Message, "MLContext.GpuDeviceId = 0");
            StringAssert.Contains(e.Message, "no CUDA provider");
            Assert.AreEqual(before, Directory.GetFileSystemEntries(dir).Length, "the failed load leaves nothing in TempFilePath");

            // The same file loads on a CPU context.
            using var cpu = (IDisposable)LmuModelFile.Load(new MLContext(1) { TempFilePath = dir }, path, out _);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
