using System.Collections.Concurrent;
using System.IO.Compression;
using Microsoft.ML;

namespace Lmu.MLNet.Tests.MLNet.ModelFiles;

/// <summary>
/// A load that fails beside good loads in the same MLContext.TempFilePath removes its own leftovers only (found by QA:
/// its sweep deleted the extraction folders and graph copies of good loads running beside it, and 14 to 32 of 40 good
/// loads failed; a deleted copy also breaks saving the loaded model again, which reads it).
/// </summary>
[TestClass]
public sealed class ConcurrentLoadSweepTests
{
    private string _temp = string.Empty;

    [TestInitialize]
    public void MakeTemp() => _temp = Directory.CreateTempSubdirectory("lmu-sweep-").FullName;

    [TestCleanup]
    public void RemoveTemp() => Directory.Delete(_temp, recursive: true);

    [TestMethod]
    public void GoodLoadsBesideAFailingOneSucceedAndKeepTheirGraphCopies()
    {
        var mlTemp = Directory.CreateDirectory(Path.Combine(_temp, "ml")).FullName;
        var good = Path.Combine(_temp, "good.zip");
        var ml = new MLContext(1) { TempFilePath = mlTemp };
        var data = ml.Data.LoadFromEnumerable(CarrierTestData.Rows());
        using (var chain = OnnxCarrier.CreateMulticlass(ml, CarrierTestData.Model(), data, ["Features"], CarrierTestData.Classes))
        {
            ml.Model.Save(chain, data.Schema, good);
        }

        // The same graph (its seal holds) with an ML.NET entry that does not parse: the load fails after extracting.
        var bad = Path.Combine(_temp, "bad.zip");
        File.Copy(good, bad);
        using (var zip = ZipFile.Open(bad, ZipArchiveMode.Update))
        {
            var victim = zip.Entries.First(e => e.Name == "Model.key" && !e.FullName.Contains("Onnx", StringComparison.OrdinalIgnoreCase));
            var name = victim.FullName;
            victim.Delete();
            using var s = zip.CreateEntry(name).Open();
            s.Write([1, 2, 3, 4, 5, 6, 7, 8]);
        }

        Assert.ThrowsExactly<InvalidDataException>(() => LmuModelFile.Load(new MLContext { TempFilePath = mlTemp }, bad, out _));
        var stop = false;
        var badLoads = 0;
        var errors = new ConcurrentBag<string>();
        var failing = new Thread(() =>
        {
            var context = new MLContext { TempFilePath = mlTemp };
            while (!Volatile.Read(ref stop))
            {
                try
                {
                    (LmuModelFile.Load(context, bad, out _) as IDisposable)?.Dispose();
                }
                catch (InvalidDataException)
                {
                }
                catch (Exception e)
                {
                    // Its own error is an InvalidDataException naming the file; anything else came from a sweep beside it.
                    errors.Add($"bad: {e.GetType().Name}: {e.Message}");
                }

                badLoads++;
            }
        });
        failing.Start();
        var loaded = new List<ITransformer>();
        try
        {
            var context = new MLContext { TempFilePath = mlTemp };
            for (int i = 0; i < 25; i++)
            {
                try
                {
                    var model = LmuModelFile.Load(context, good, out var schema);
                    loaded.Add(model);
                    // Saving reads the graph copy ML.NET keeps: it fails when a sweep deleted it.
                    context.Model.Save(model, schema, Path.Combine(_temp, $"again-{i}.zip"));
                }
                catch (Exception e)
                {
                    errors.Add($"{i}: {e.GetType().Name}: {e.Message}");
                }
            }
        }
        finally
        {
            Volatile.Write(ref stop, true);
            failing.Join();
        }

        Assert.IsGreaterThan(0, badLoads);
        Assert.IsEmpty(errors, $"{errors.Count} loads failed: " + string.Join(" | ", errors.Take(3)));
        foreach (var model in loaded) (model as IDisposable)?.Dispose();
        Assert.IsEmpty(Directory.GetFileSystemEntries(mlTemp), "the failed loads' leftovers and the good loads' copies are gone");
    }
}
