using Lmu.MLNet.Network;
using Lmu.MLNet.Forecasting;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Onnx;
using Lmu.MLNet.Training;
using Microsoft.ML;

namespace Lmu.MLNet.Tests.Forecasting;

/// <summary>Engine checkpoints: the model fingerprint, resuming only the model that wrote one, format 1, stale temp files.</summary>
[TestClass]
public sealed class ForecastCheckpointTests
{
    private string _dir = null!;

    [TestInitialize]
    public void NewDir()
    {
        _dir = Path.Combine(Path.GetTempPath(), $"lmu-ckpt-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dir);
    }

    [TestCleanup]
    public void RemoveDir() => Directory.Delete(_dir, recursive: true);

    [TestMethod]
    public void TheFingerprintNamesTheModelExactly()
    {
        var model = ForecastTestModels.Create(HiddenCell.Dense, 1, LmuForecastScaling.PerWindow);
        var same = ForecastTestModels.Create(HiddenCell.Dense, 1, LmuForecastScaling.PerWindow);
        var fingerprint = new LmuForecastEngine(model).ModelFingerprint;
        Assert.MatchesRegex("^[0-9a-f]{64}$", fingerprint);
        Assert.AreEqual(fingerprint, new LmuForecastEngine(same).ModelFingerprint, "the same weights and configuration");

        // One ulp of one head weight, one bound offset, the scaling, a column name: each is another model.
        var w = (float[])same.Network.Head[0].W.Clone();
        w[3] = MathF.BitIncrement(w[3]);
        var head = same.Network.Head.ToArray();
        head[0] = new DenseSpec { In = head[0].In, Out = head[0].Out, W = w, B = head[0].B, Activation = head[0].Activation };
        LmuForecastModel[] others =
        [
            With(same, network: new LmuNetworkSpec { SequenceLength = same.Network.SequenceLength, Layers = same.Network.Layers, Head = head }),
            With(same, upper: [0.4, 0.6, 0.8000001]),
            ForecastTestModels.Create(HiddenCell.Dense, 1, LmuForecastScaling.Global),
            With(same, forecastColumn: "Prediction"),
        ];
        foreach (var other in others)
        {
            Assert.AreNotEqual(fingerprint, new LmuForecastEngine(other).ModelFingerprint);
        }

        var path = Path.Combine(_dir, "a.ckpt");
        new LmuForecastEngine(model).CheckPoint(path);
        Assert.AreEqual(fingerprint, LmuForecastEngine.Load(path).ModelFingerprint, "a checkpoint keeps its model's fingerprint");
    }

    [TestMethod]
    public void ACheckpointResumesOnlyTheModelThatWroteIt()
    {
        var mine = ForecastTestModels.Create(HiddenCell.Dense, 1, LmuForecastScaling.PerWindow, seed: 7);
        var theirs = ForecastTestModels.Create(HiddenCell.Dense, 1, LmuForecastScaling.PerWindow, seed: 8);
        var (values, covs) = ForecastTestModels.Series(40, 1);
        var engine = new LmuForecastEngine(theirs);
        for (var t = 0; t < values.Length; t++)
        {
            engine.Observe(values[t], covs[0][t]);
        }

        var path = Path.Combine(_dir, "theirs.ckpt");
        engine.CheckPoint(path);
        using var transformer = Transformer(mine);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => transformer.ResumeEngine(path));
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, "another model");
        StringAssert.Contains(e.Message, engine.ModelFingerprint);
        StringAssert.Contains(e.Message, transformer.Info.ModelFingerprint);
        Assert.ThrowsExactly<InvalidDataException>(() => LmuForecastEngine.Load(path, new LmuForecastEngine(mine).ModelFingerprint));

        // The model that wrote it resumes it (the fingerprint compared case-insensitively), and so does a self-contained load.
        using var writer = Transformer(theirs);
        var resumed = writer.ResumeEngine(path);
        Assert.AreEqual(40, resumed.ObservationCount);
        CollectionAssert.AreEqual(engine.Current!.Forecast, resumed.Current!.Forecast);
        Assert.AreEqual(40, LmuForecastEngine.Load(path, engine.ModelFingerprint.ToUpperInvariant()).ObservationCount);
        Assert.AreEqual(40, LmuForecastEngine.Load(path).ObservationCount);
    }

    [TestMethod]
    public void AFormat1CheckpointIsRefusedWithAMessageToReSaveIt()
    {
        // Format 1: a BinaryWriter string magic, the version, then the model and state without a checksum.
        var path = Path.Combine(_dir, "old.ckpt");
        using (var w = new BinaryWriter(File.Create(path)))
        {
            w.Write("LMU-FORECAST-ENGINE");
            w.Write(1);
            ForecastTestModels.Create(HiddenCell.Dense, 0, LmuForecastScaling.Global).Write(w);
        }

        var e = Assert.ThrowsExactly<InvalidDataException>(() => LmuForecastEngine.Load(path));
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, "format-1");
        // Upgrade QA: the advice assumed the fitted transformer was at hand; only zips of forecasters fitted since 0.4.0 start a stream.
        StringAssert.Contains(e.Message, "It cannot be converted: start the stream again from the fitted transformer's CreateEngine()");
        StringAssert.Contains(e.Message, "A model zip saved from a forecaster fitted with Lmu.MLNet 0.4.0 or later also starts a stream (LmuForecastEngineModel.Load); for an older model without its fitted transformer, fit the model again.");
    }

    [TestMethod]
    public void TempFilesOfKilledWritesAreRemovedByTheNextWriteAndLoad()
    {
        var engine = new LmuForecastEngine(ForecastTestModels.Create(HiddenCell.Dense, 0, LmuForecastScaling.Global));
        var path = Path.Combine(_dir, "s.ckpt");
        var now = DateTime.UtcNow;
        // A killed write an hour ago; one "started after" the coming write (a time in the future stands for it); a user's
        // file that only looks similar; another target's temp file.
        var killed = Temp(path, now.AddHours(-1));
        var later = Temp(path, now.AddHours(1));
        var users = Touch(path + ".tmp-notes", now.AddHours(-1));
        var otherTarget = Temp(Path.Combine(_dir, "other.ckpt"), now.AddHours(-1));

        engine.CheckPoint(path);
        Assert.IsFalse(File.Exists(killed), "the killed write's temp file");
        Assert.IsTrue(File.Exists(later), "a temp file newer than this write is not this write's to remove");
        Assert.IsTrue(File.Exists(users));
        Assert.IsTrue(File.Exists(otherTarget));
        Assert.HasCount(4, Directory.GetFiles(_dir), "the checkpoint, the newer temp file, the user's file, the other target's");

        // A load removes temp files older than the checkpoint (writes that never completed) and keeps newer ones.
        File.SetLastWriteTimeUtc(path, now);
        var stale = Temp(path, now.AddMinutes(-5));
        LmuForecastEngine.Load(path);
        Assert.IsFalse(File.Exists(stale));
        Assert.IsTrue(File.Exists(later));
    }

    [TestMethod]
    public void WritersCheckpointingOneTargetAtOnceLeaveEachOthersTempFilesAlone()
    {
        // Found by QA: each write swept the temp files older than its start, including the one another writer was still
        // writing, which then failed with FileNotFoundException when it moved its (deleted) temp file.
        var model = ForecastTestModels.Create(HiddenCell.Dense, 0, LmuForecastScaling.Global);
        var path = Path.Combine(_dir, "shared.ckpt");
        var held = Temp(path, DateTime.UtcNow.AddHours(-1));
        using (new FileStream(held, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            new LmuForecastEngine(model).CheckPoint(path);
            Assert.IsTrue(File.Exists(held), "a temp file its writer still holds is not stale");
        }

        new LmuForecastEngine(model).CheckPoint(path);
        Assert.IsFalse(File.Exists(held), "once released it is a leftover, removed by the next write");

        var failures = new System.Collections.Concurrent.ConcurrentBag<Exception>();
        var writers = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
        {
            var engine = new LmuForecastEngine(model);
            for (var i = 0; i < 40; i++)
            {
                try
                {
                    engine.CheckPoint(path);
                }
                catch (Exception e)
                {
                    failures.Add(e);
                }
            }
        })).ToList();
        writers.ForEach(t => t.Start());
        writers.ForEach(t => t.Join());
        Assert.IsEmpty(failures, string.Join("\n", failures.Take(3)));
        Assert.IsNotNull(LmuForecastEngine.Load(path));
        Assert.HasCount(1, Directory.GetFiles(_dir, "shared.ckpt*"), "only the checkpoint is left");
    }

    private static string Temp(string target, DateTime lastWrite) => Touch(target + ".tmp-" + Guid.NewGuid().ToString("N"), lastWrite);

    private static string Touch(string path, DateTime lastWrite)
    {
        File.WriteAllBytes(path, [1, 2, 3]);
        File.SetLastWriteTimeUtc(path, lastWrite);
        return path;
    }

    private static LmuForecastTransformer Transformer(LmuForecastModel model) =>
        new(LmuForecastEstimator.CreateChain(new MLContext(1), model), model, LmuForecastModelInfo.Of(model, null, null, 0, 1, "cpu", 0, new LmuTrainingResult([], 0), TimeSpan.Zero, []));

    private static LmuForecastModel With(LmuForecastModel m, LmuNetworkSpec? network = null, double[]? upper = null, string? forecastColumn = null) => new()
    {
        Network = network ?? m.Network, WindowSize = m.WindowSize, Horizon = m.Horizon, WindowColumn = m.WindowColumn,
        CovariateColumns = m.CovariateColumns, ForecastColumn = forecastColumn ?? m.ForecastColumn,
        LowerBoundColumn = m.LowerBoundColumn, UpperBoundColumn = m.UpperBoundColumn, Scaling = m.Scaling,
        Location = m.Location, Scale = m.Scale, ConfidenceLevel = m.ConfidenceLevel,
        LowerOffsets = m.LowerOffsets, UpperOffsets = upper ?? m.UpperOffsets,
    };
}
