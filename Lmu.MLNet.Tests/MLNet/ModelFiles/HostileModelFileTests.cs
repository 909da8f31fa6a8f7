using System.Buffers.Binary;
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.ModelFiles;

/// <summary>
/// Hostile or damaged model zips: each is refused by <see cref="LmuModelFile.Load(MLContext, string, out DataViewSchema)"/>
/// with an <see cref="InvalidDataException"/> naming the file, before anything large is extracted, and leaves nothing in
/// MLContext.TempFilePath.
/// </summary>
[TestClass]
public sealed class HostileModelFileTests
{
    private string _temp = string.Empty;
    private string _mlTemp = string.Empty;
    private string _good = string.Empty;

    [TestInitialize]
    public void SaveAGoodModel()
    {
        _temp = Path.Combine(Path.GetTempPath(), "lmu-hostile-" + Guid.NewGuid().ToString("N"));
        _mlTemp = Path.Combine(_temp, "ml");
        Directory.CreateDirectory(_mlTemp);
        _good = Path.Combine(_temp, "good.zip");
        var ml = Context();
        var data = ml.Data.LoadFromEnumerable(CarrierTestData.Rows());
        using var chain = OnnxCarrier.CreateMulticlass(ml, CarrierTestData.Model(), data, ["Features"], CarrierTestData.Classes);
        ml.Model.Save(chain, data.Schema, _good);
    }

    [TestCleanup]
    public void RemoveTempDir() => Directory.Delete(_temp, recursive: true);

    [TestMethod]
    public void AnEntryDeclaringTwoGigabytesIsRefusedFromTheCentralDirectory()
    {
        var bomb = Path.Combine(_temp, "declares-2gb.zip");
        ModelZipSurgery.DeclareOnnxSize(_good, bomb, 2u << 30);
        var clock = Stopwatch.StartNew();
        var e = Refused(bomb);
        Bound.Below(5.0, clock.Elapsed.TotalSeconds, "the sizes are read from the central directory, nothing is extracted");
        StringAssert.Contains(e.Message, "OnnxModel");
        StringAssert.Contains(e.Message, "2147483648 bytes");
        StringAssert.Contains(e.Message, "MaxEntryBytes");

        // The forecaster's state reader opens the file again after the check: one replaced in between is checked there
        // too, not read into an array of its declared 2 GB (files QA).
        var again = Assert.ThrowsExactly<InvalidDataException>(() => Lmu.MLNet.Forecasting.ForecastEngineStateZip.Packed(bomb));
        StringAssert.Contains(again.Message, "2147483648 bytes");
        StringAssert.Contains(again.Message, "MaxEntryBytes");
    }

    [TestMethod]
    public void AnEntryThatDeflatesTooWellIsRefused()
    {
        // 16 MiB of zeros deflate to ~16 KiB: a ratio no float weights come near.
        var bomb = Path.Combine(_temp, "ratio.zip");
        ModelZipSurgery.RewriteOnnxEntry(_good, bomb, _ => ModelZipSurgery.Prefixed(new byte[16 << 20]));
        var e = Refused(bomb);
        StringAssert.Contains(e.Message, "compression ratio");
        StringAssert.Contains(e.Message, "MaxCompressionRatio");
    }

    [TestMethod]
    public void AFlippedBitInTheWeightsFailsTheIntegrityCheck()
    {
        var flipped = Path.Combine(_temp, "flipped.zip");
        ModelZipSurgery.RewriteOnnxEntry(_good, flipped, content =>
        {
            // 0.8f is one of the head's weights (CarrierTestData.Spec): flip the lowest mantissa bit of its raw_data.
            Span<byte> weight = stackalloc byte[4];
            BinaryPrimitives.WriteSingleLittleEndian(weight, 0.8f);
            var at = content.AsSpan().IndexOf(weight);
            Assert.IsGreaterThan(0, at, "the weight 0.8f should be in the ONNX bytes");
            var copy = content.ToArray();
            copy[at] ^= 1;
            return copy;
        });
        var e = Refused(flipped);
        StringAssert.Contains(e.Message, "SHA-256");
    }

    [TestMethod]
    public void ATruncatedOnnxEntryIsRefused()
    {
        var truncated = Path.Combine(_temp, "truncated-onnx.zip");
        ModelZipSurgery.RewriteOnnxEntry(_good, truncated, content => content[..(content.Length / 2)]);
        var e = Refused(truncated);
        StringAssert.Contains(e.Message, "OnnxModel");
    }

    [TestMethod]
    public void AnOnnxEntryOfGarbageWithAConsistentLengthIsRefused()
    {
        var garbage = Path.Combine(_temp, "garbage-onnx.zip");
        var noise = new byte[3000];
        new Random(5).NextBytes(noise);
        ModelZipSurgery.RewriteOnnxEntry(_good, garbage, _ => ModelZipSurgery.Prefixed(noise));
        var e = Refused(garbage);
        StringAssert.Contains(e.Message, "OnnxModel");
    }

    [TestMethod]
    public void AFileThatIsNotAZipIsRefused()
    {
        var text = Path.Combine(_temp, "model.zip.txt");
        File.WriteAllText(text, "this is not a model");
        var e = Refused(text);
        StringAssert.Contains(e.Message, "not a zip");

        var empty = Path.Combine(_temp, "empty.zip");
        File.WriteAllBytes(empty, []);
        Refused(empty);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task ANamedPipeIsRefusedAtOnceByEveryLoader()
    {
        // Files QA: opening a named pipe for reading waits for a writer, and LmuModelFile.Load, predict and
        // forecast-stream waited for ever. Each loader runs on a task of its own so that a wait fails the test instead
        // of hanging it.
        if (!OperatingSystem.IsLinux())
        {
            Assert.Inconclusive("named pipes are made with mkfifo here (Linux)");
        }

        var pipe = Path.Combine(_temp, "model.zip");
        using (var mkfifo = Process.Start("mkfifo", pipe))
        {
            await mkfifo.WaitForExitAsync();
            Assert.AreEqual(0, mkfifo.ExitCode, "mkfifo");
        }

        // Review: a link's own size is its target's name length, so a model.zip linked to the pipe passed.
        var link = Path.Combine(_temp, "linked.zip");
        File.CreateSymbolicLink(link, pipe);
        foreach (var path in new[] { pipe, link })
        {
            var loaders = new (string Name, Action Load)[]
            {
                ("LmuModelFile.Load", () => LmuModelFile.Load(Context(), path, out _)),
                ("LmuForecastEngineModel.Load", () => Lmu.MLNet.Forecasting.LmuForecastEngineModel.Load(path)),
                ("LmuForecastEngine.Load", () => Lmu.MLNet.Forecasting.LmuForecastEngine.Load(path)),
            };
            foreach (var (name, load) in loaders)
            {
                var attempt = Task.Run(() => Assert.ThrowsExactly<InvalidDataException>(load));
                var finished = await Task.WhenAny(attempt, Task.Delay(TimeSpan.FromSeconds(10)));
                Assert.AreSame(attempt, finished, $"{name} waited on {path}");
                var e = await attempt;
                StringAssert.Contains(e.Message, $"'{path}' is empty (0 bytes) or not a regular file (a named pipe, socket or device)", name);
            }
        }

        AssertNoTempFiles();
    }

    [TestMethod]
    public void AFolderIsNamedAsAFolderByEveryLoader()
    {
        // Regression QA: LmuForecastEngineModel.Load said a folder did not exist, and the typed engine's Load failed
        // with UnauthorizedAccessException ("Access to the path is denied").
        var folder = Directory.CreateDirectory(Path.Combine(_temp, "model.zip")).FullName;
        var loaders = new (string Name, Action Load, string Message)[]
        {
            ("LmuModelFile.Load", () => LmuModelFile.Load(Context(), folder, out _), $"The model path '{folder}' is a folder"),
            ("LmuForecastEngineModel.Load", () => Lmu.MLNet.Forecasting.LmuForecastEngineModel.Load(folder), $"The forecast model '{folder}' is a folder"),
            ("LmuForecastEngine.Load", () => Lmu.MLNet.Forecasting.LmuForecastEngine.Load(folder), $"The engine checkpoint '{folder}' is a folder"),
            ("LmuForecastTimeSeriesEngine.Load", () => Lmu.MLNet.Forecasting.LmuForecastTimeSeriesEngine.Load<Forecasting.ForecastTimeSeriesEngineTests.Observation, Forecasting.ForecastTimeSeriesEngineTests.Prediction>(Context(), folder),
                $"The model file '{folder}' is a folder"),
        };
        foreach (var (name, load, message) in loaders)
        {
            var e = Assert.ThrowsExactly<FileNotFoundException>(load, name);
            StringAssert.StartsWith(e.Message, message, name);
            Assert.AreEqual(folder, e.FileName, name);
        }

        AssertNoTempFiles();
    }

    [TestMethod]
    public void AnUnsealedGraphThatOnnxRuntimeRejectsIsRefusedWithoutLeftovers()
    {
        // Valid protobuf framing (ir_version = 8 and nothing else) and no seal: only ONNX Runtime can refuse it, inside
        // ML.NET's reflection-invoked loader, after ML.NET has extracted the zip and copied the graph to a temp file.
        var hollow = Path.Combine(_temp, "hollow.zip");
        ModelZipSurgery.RewriteOnnxEntry(_good, hollow, _ => ModelZipSurgery.Prefixed([0x08, 0x08]));
        var e = Refused(hollow);
        StringAssert.Contains(e.Message, "ML.NET could not load it");
        Assert.IsFalse(e.Message.Contains("TargetInvocationException", StringComparison.Ordinal), e.Message);
    }

    [TestMethod]
    public void AModelSavedBeforeSealsLoadsAndSaysItIsUnverified()
    {
        var older = Path.Combine(_temp, "older.zip");
        ModelZipSurgery.RewriteOnnxEntry(_good, older, content => ModelZipSurgery.Prefixed(Unsealed(content[4..])));
        var ml = Context();
        var model = LmuModelFile.Load(ml, older, out _, out var integrity);
        Assert.AreEqual(LmuModelIntegrity.Unsealed, integrity);
        Assert.HasCount(CarrierTestData.Rows().Count, model.Transform(ml.Data.LoadFromEnumerable(CarrierTestData.Rows())).GetColumn<float[]>("Score").ToArray());
        (model as IDisposable)?.Dispose();
        AssertNoTempFiles();
    }

    [TestMethod]
    [DataRow("classifier.zip")]
    [DataRow("pooled-ridge.zip")]
    [DataRow("forecaster.zip")]
    public void ZipsOfAnEarlierReleaseLoadAndSayTheyAreUnsealed(string name)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Data", "Legacy", "mlnet-5.0.1", name);
        Assert.IsTrue(File.Exists(path), path);
        var model = LmuModelFile.Load(Context(), path, out _, out var integrity);
        Assert.AreEqual(LmuModelIntegrity.Unsealed, integrity);
        (model as IDisposable)?.Dispose();
        AssertNoTempFiles();
    }

    [TestMethod]
    public void TheGoodModelLoadsVerifiedAndScores()
    {
        var ml = Context();
        var model = LmuModelFile.Load(ml, _good, out var schema, out var integrity);
        Assert.AreEqual(LmuModelIntegrity.Verified, integrity);
        var scores = model.Transform(ml.Data.LoadFromEnumerable(CarrierTestData.Rows())).GetColumn<float[]>("Score").ToArray();
        Assert.HasCount(CarrierTestData.Rows().Count, scores);
        Assert.IsNotNull(schema.GetColumnOrNull("Features"));
        (model as IDisposable)?.Dispose();
        AssertNoTempFiles();
    }

    private InvalidDataException Refused(string path)
    {
        var e = Assert.ThrowsExactly<InvalidDataException>(() =>
        {
            var ml = Context();
            var model = LmuModelFile.Load(ml, path, out _);
            // Reaching here is already a failure; scoring shows whether the damage went unnoticed.
            model.Transform(ml.Data.LoadFromEnumerable(CarrierTestData.Rows())).GetColumn<float[]>("Score").ToArray();
        });
        StringAssert.Contains(e.Message, path);
        AssertNoTempFiles();
        return e;
    }

    /// <summary>The graph without its seal (the last top-level field, metadata_props = field 14), as written before seals existed.</summary>
    private static byte[] Unsealed(byte[] onnx)
    {
        Assert.IsTrue(Lmu.MLNet.Onnx.OnnxIntegrity.Verify(onnx), "the carried graph should be sealed");
        var tag = Array.LastIndexOf(onnx, (byte)((14 << 3) | 2));
        var unsealed = onnx[..tag];
        Assert.IsFalse(Lmu.MLNet.Onnx.OnnxIntegrity.Verify(unsealed), "cutting at the last field-14 tag should remove the seal");
        return unsealed;
    }

    private void AssertNoTempFiles()
    {
        var left = Directory.GetFileSystemEntries(_mlTemp, "*", SearchOption.AllDirectories);
        Assert.IsEmpty(left, $"temp files left behind in MLContext.TempFilePath: {string.Join(", ", left.Select(f => Path.GetRelativePath(_mlTemp, f)))}");
    }

    private MLContext Context() => new(seed: 1) { TempFilePath = _mlTemp };
}
