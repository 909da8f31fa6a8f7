using Lmu.MLNet.Featurize;
using Lmu.MLNet.Tests.Infrastructure;
using Lmu.MLNet.Tests.MLNet.Featurize;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.ModelFiles;

/// <summary>
/// Files the library writes are complete or absent: a write that fails leaves the file it was replacing as it was and
/// no partial or temp file (ExportOnnx wrote in place, so a full disk left a 0-byte or truncated .onnx, found by QA on
/// a full tmpfs); LmuModelFile.Save does the same for ML.NET's zip; a disposed transformer refuses to be used.
/// </summary>
[TestClass]
public sealed class AtomicWriteTests
{
    [TestMethod]
    public void AFailedWriteLeavesTheOldFileAndNoTempFile()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "target.bin");
        File.WriteAllBytes(path, [1, 2, 3]);

        Assert.ThrowsExactly<IOException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write(new byte[10_000]);
            throw new IOException("No space left on device (simulated)");
        }));
        CollectionAssert.AreEqual(new byte[] { 1, 2, 3 }, File.ReadAllBytes(path), "the old contents");
        CollectionAssert.AreEqual(new[] { path }, Directory.GetFiles(folder.Path), "no temp file beside it");

        // A full disk is reported naming the file written, the temp file's name replaced by the target's (found by QA:
        // the message named a temp file that was gone by the time the caller read it).
        var e = Assert.ThrowsExactly<IOException>(() => AtomicFile.Write(path, stream => throw new IOException($"No space left on device : '{((FileStream)stream).Name}'")));
        Assert.AreEqual($"Could not write '{path}': No space left on device : '{path}'", e.Message);
        CollectionAssert.AreEqual(new[] { path }, Directory.GetFiles(folder.Path), "no temp file beside it");

        AtomicFile.Write(path, stream => stream.Write([4, 5]));
        CollectionAssert.AreEqual(new byte[] { 4, 5 }, File.ReadAllBytes(path), "a write that completes replaces it");
        CollectionAssert.AreEqual(new[] { path }, Directory.GetFiles(folder.Path));
    }

    [TestMethod]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void ALinkIsWrittenThroughAndAFileKeepsItsPermissions()
    {
        // Found by the environment QA: the move replaced a link (cur.zip -> models/v4.zip) with a plain file, leaving v4
        // as it was, and a 0600 model came back 0644, where ML.NET's own Model.Save writes through and keeps the mode.
        if (OperatingSystem.IsWindows())
        {
            Assert.Inconclusive("Unix links and file modes.");
        }

        using var folder = new TempFolder();
        var models = Directory.CreateDirectory(Path.Combine(folder.Path, "models")).FullName;
        var v4 = Path.Combine(models, "v4.zip");
        File.WriteAllBytes(v4, [1]);
        File.SetUnixFileMode(v4, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var current = Path.Combine(folder.Path, "cur.zip");
        File.CreateSymbolicLink(current, Path.Combine("models", "v4.zip"));

        AtomicFile.Write(current, stream => stream.Write([2, 3]));
        Assert.AreEqual(Path.Combine("models", "v4.zip"), new FileInfo(current).LinkTarget, "still a link");
        CollectionAssert.AreEqual(new byte[] { 2, 3 }, File.ReadAllBytes(v4), "written through");
        Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(v4));
        CollectionAssert.AreEquivalent(new[] { v4 }, Directory.GetFiles(models), "no temp file beside the target");

        // A link to a file not yet there creates the file, as File.Create through the link does.
        var next = Path.Combine(folder.Path, "next.zip");
        File.CreateSymbolicLink(next, Path.Combine("models", "v5.zip"));
        AtomicFile.Write(next, stream => stream.Write([4]));
        Assert.IsNotNull(new FileInfo(next).LinkTarget, "still a link");
        CollectionAssert.AreEqual(new byte[] { 4 }, File.ReadAllBytes(Path.Combine(models, "v5.zip")));

        // A link into a folder that is not there names that folder, not the link's (regression QA).
        var lost = Path.Combine(folder.Path, "lost.zip");
        File.CreateSymbolicLink(lost, Path.Combine("gone", "v.zip"));
        var e = Assert.ThrowsExactly<DirectoryNotFoundException>(() => AtomicFile.Write(lost, stream => stream.Write([5])));
        Assert.AreEqual($"Could not write '{lost}': the folder '{Path.Combine(folder.Path, "gone")}' does not exist.", e.Message);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task ANamedPipeOrAFolderIsRefusedAndNeverReplaced()
    {
        // Files QA: every writer renamed its temp file over a named pipe or a device node (as root, --checkpoint /dev/null
        // would replace /dev/null), through a link too; a folder failed in .NET's words ("Is a directory").
        if (!OperatingSystem.IsLinux())
        {
            Assert.Inconclusive("named pipes are made with mkfifo and told apart with statx here (Linux)");
        }

        using var folder = new TempFolder();
        var pipe = Path.Combine(folder.Path, "model.zip");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", pipe))
        {
            await mkfifo.WaitForExitAsync();
            Assert.AreEqual(0, mkfifo.ExitCode, "mkfifo");
        }

        var link = Path.Combine(folder.Path, "current.zip");
        File.CreateSymbolicLink(link, pipe);
        Assert.AreEqual("a named pipe", FileKind.Of(pipe));
        var e = Assert.ThrowsExactly<IOException>(() => AtomicFile.Write(pipe, stream => stream.Write([1])));
        Assert.AreEqual($"Could not write '{pipe}': it is a named pipe, not a file, and this write replaces the file it names with a new one (the node would become a file); give the path of a file.", e.Message);
        e = Assert.ThrowsExactly<IOException>(() => AtomicFile.Write(link, stream => stream.Write([1])));
        StringAssert.StartsWith(e.Message, $"Could not write '{link}': its link target '{pipe}' is a named pipe, not a file");
        Assert.AreEqual("a named pipe", FileKind.Of(pipe), "still a pipe");
        var sub = Directory.CreateDirectory(Path.Combine(folder.Path, "sub.zip")).FullName;
        e = Assert.ThrowsExactly<IOException>(() => AtomicFile.Write(sub, stream => stream.Write([1])));
        Assert.AreEqual($"Could not write '{sub}': it is a folder; give a file's path.", e.Message);
        CollectionAssert.AreEquivalent(new[] { pipe, link }, Directory.GetFiles(folder.Path), "no temp file left");
    }

    [TestMethod]
    public void AKilledWritesTempFileIsRemovedByTheNextWriteButALiveWritersIsNot()
    {
        // Files QA: 60 kill -9s of LmuModelFile.Save left 44 temp files (each a whole model) that no later write removed;
        // only the engine's checkpoints swept theirs.
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "model.onnx");
        File.WriteAllBytes(path, [1]);
        var stale = path + AtomicFile.DefaultMarker + Guid.NewGuid().ToString("N");
        var staleShort = Path.Combine(folder.Path, $".lmu-{Guid.NewGuid():N}.tmp");
        var live = path + AtomicFile.DefaultMarker + Guid.NewGuid().ToString("N");
        var mine = Path.Combine(folder.Path, "model.onnx.lmu-tmp-mine");
        foreach (var f in new[] { stale, staleShort, live, mine })
        {
            File.WriteAllBytes(f, [9]);
            File.SetLastWriteTimeUtc(f, DateTime.UtcNow.AddHours(-1));
        }

        using (new FileStream(live, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            AtomicFile.Write(path, stream => stream.Write([2]));
        }

        CollectionAssert.AreEqual(new byte[] { 2 }, File.ReadAllBytes(path));
        Assert.IsFalse(File.Exists(stale), "a killed write's temp file goes");
        Assert.IsFalse(File.Exists(staleShort), "so does a short-named one");
        Assert.IsTrue(File.Exists(live), "a writer that holds its temp file keeps it");
        Assert.IsTrue(File.Exists(mine), "a name the library does not make is never touched");
    }

    [TestMethod]
    public void AFileReplacedByRootKeepsItsOwner()
    {
        // Files QA: a root CheckPoint of another user's 0600 state left it root's, and that user's next load failed.
        if (!FileKind.IsRoot)
        {
            Assert.Inconclusive("only root can give a file to another owner; this process is not root");
        }

        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "state.engine");
        File.WriteAllBytes(path, [1]);
        Assert.IsTrue(FileKind.TryChown(path, (65534, 65534)), "chown to nobody");
        AtomicFile.Write(path, stream => stream.Write([2]));
        Assert.AreEqual(((uint)65534, (uint)65534), FileKind.Owner(path));
    }

    [TestMethod]
    public void ATargetWhoseNameIsNearTheFileSystemsLimitIsWritten()
    {
        // Found by QA: from 215 bytes the temp name (the target's plus 41 characters) passed the 255-byte limit, and the
        // write was refused as "too long", naming the temp file; CJK names hit it at about 72 characters.
        using var folder = new TempFolder();
        foreach (var name in new[] { new string('z', 250) + ".zip", string.Concat(Enumerable.Repeat("日本語", 27)) + ".zip" })
        {
            var path = Path.Combine(folder.Path, name);
            AtomicFile.Write(path, stream => stream.Write([7, 8, 9]));
            CollectionAssert.AreEqual(new byte[] { 7, 8, 9 }, File.ReadAllBytes(path), name.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.IsTrue(Path.GetFileName(AtomicFile.TempName(path, AtomicFile.DefaultMarker)).StartsWith(".lmu-", StringComparison.Ordinal));
        }

        var ordinary = Path.Combine(folder.Path, "model.zip");
        StringAssert.StartsWith(AtomicFile.TempName(ordinary, AtomicFile.DefaultMarker), ordinary + AtomicFile.DefaultMarker, "ordinary names keep the form the checkpoint sweep knows");
        AtomicFile.Write(ordinary, stream => stream.Write([1]));
        Assert.HasCount(3, Directory.GetFiles(folder.Path), "no temp file left");
    }

    [TestMethod]
    public void LoadingAFolderSaysItIsAFolder()
    {
        // It said the file "does not exist" (found by QA).
        using var folder = new TempFolder();
        var e = Assert.ThrowsExactly<FileNotFoundException>(() => LmuModelFile.Load(new MLContext(1), folder.Path, out _));
        StringAssert.StartsWith(e.Message, $"The model path '{folder.Path}' is a folder");
    }

    [TestMethod]
    public void ExportOnnxReplacesAFileWholeAndLeavesNothingWhereItFails()
    {
        using var folder = new TempFolder();
        var (_, model, _) = Featurizer();
        var path = Path.Combine(folder.Path, "model.onnx");
        File.WriteAllBytes(path, [9, 9, 9]);
        model.ExportOnnx(path);
        using var expected = new MemoryStream();
        model.SaveOnnx(expected);
        CollectionAssert.AreEqual(expected.ToArray(), File.ReadAllBytes(path));
        CollectionAssert.AreEqual(new[] { path }, Directory.GetFiles(folder.Path));

        var missing = Path.Combine(folder.Path, "no-such-folder", "model.onnx");
        var e = Assert.ThrowsExactly<DirectoryNotFoundException>(() => model.ExportOnnx(missing));
        // Named by the caller's path, not the temp file's generated name (found by QA).
        Assert.AreEqual($"Could not write '{missing}': the folder '{Path.GetDirectoryName(missing)}' does not exist.", e.Message);
        CollectionAssert.AreEqual(new[] { path }, Directory.GetFiles(folder.Path, "*", SearchOption.AllDirectories));
    }

    [TestMethod]
    public void LmuModelFileSaveWritesAZipThatLoadsAndKeepsTheOldOneWhenSavingFails()
    {
        using var folder = new TempFolder();
        var (ml, model, data) = Featurizer();
        var path = Path.Combine(folder.Path, "model.zip");
        LmuModelFile.Save(ml, model, data.Schema, path);
        var loaded = LmuModelFile.Load(new MLContext(seed: 2), path, out var schema);
        Assert.AreEqual(data.Schema.Count, schema.Count);
        var expected = model.Transform(data).GetColumn<float[]>("LmuFeatures").ToArray();
        var got = loaded.Transform(data).GetColumn<float[]>("LmuFeatures").ToArray();
        for (int r = 0; r < expected.Length; r++) CollectionAssert.AreEqual(expected[r], got[r], $"row {r}");

        // ML.NET cannot save a transformer that is not ICanSaveModel: the save fails after the zip has begun.
        var good = File.ReadAllBytes(path);
        Assert.Throws<Exception>(() => LmuModelFile.Save(ml, new Unsaveable(), data.Schema, path));
        CollectionAssert.AreEqual(good, File.ReadAllBytes(path), "the good model is still there, whole");
        CollectionAssert.AreEqual(new[] { path }, Directory.GetFiles(folder.Path));
    }

    [TestMethod]
    public void AFitOnAFullTempDiskLeavesNoTempFolder()
    {
        // QA: a Fit whose MLContext.TempFilePath filled up failed inside ML.NET's save or load of the carried chain, and
        // the ml_dotnet_* folder it had begun stayed until a garbage collection ran its finalizer, keeping the disk full.
        // Small tmpfs mounts fill at different points of the Fit; none may leave anything behind.
        if (!OperatingSystem.IsLinux())
        {
            Assert.Inconclusive("mounts a tmpfs");
        }

        int failed = 0;
        var leftovers = new List<string>();
        for (int kib = 8; kib <= 64; kib += 4)
        {
            var mount = Path.Combine(Path.GetTempPath(), "lmu-full-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(mount);
            try
            {
                if (SystemTool.Run("mount", "-t", "tmpfs", "-o", $"size={kib}k", "tmpfs", mount) != 0)
                {
                    Assert.Inconclusive("cannot mount a tmpfs here (needs root and a kernel that allows it)");
                }

                try
                {
                    var ml = Classification.ClassifierSetup.Context(mount);
                    var data = ml.Data.LoadFromEnumerable(Classification.DelayedPatternData.Rows(24, 5));
                    try
                    {
                        ml.Transforms.LmuClassifier(Classification.ClassifierSetup.Parallel(epochs: 1)).Fit(data).Dispose();
                    }
                    catch (IOException)
                    {
                        failed++;
                    }

                    leftovers.AddRange(Directory.GetFileSystemEntries(mount).Select(e => $"{kib} KiB: {Path.GetFileName(e)}"));
                }
                finally
                {
                    SystemTool.Run("umount", "-l", mount);
                }
            }
            finally
            {
                Directory.Delete(mount, recursive: true);
            }
        }

        Assert.IsGreaterThan(0, failed, "no mount size failed the Fit: the test saw no full disk");
        Assert.IsEmpty(leftovers, string.Join("; ", leftovers));
    }

    [TestMethod]
    public void AFitWhoseTempFolderCannotBeWrittenIsRefusedBeforeTraining()
    {
        // Found by the environment QA: a read-only TMPDIR failed the Fit after every epoch, with "Read-only file system :
        // '…/lmu-….onnx'" naming neither the setting nor what to do.
        if (!OperatingSystem.IsLinux())
        {
            Assert.Inconclusive("mounts a tmpfs");
        }

        var mount = Path.Combine(Path.GetTempPath(), "lmu-ro-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(mount);
        try
        {
            if (SystemTool.Run("mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", mount) != 0)
            {
                Assert.Inconclusive("cannot mount a tmpfs here (needs root and a kernel that allows it)");
            }

            try
            {
                var ml = Classification.ClassifierSetup.Context(mount);
                var data = ml.Data.LoadFromEnumerable(Classification.DelayedPatternData.Rows(24, 5));
                var options = Classification.ClassifierSetup.Parallel(epochs: 1);
                var epochs = new EpochCount();
                options.Progress = epochs;
                var e = Assert.ThrowsExactly<IOException>(() => ml.Transforms.LmuClassifier(options).Fit(data));
                StringAssert.StartsWith(e.Message, $"MLContext.TempFilePath '{mount}' cannot be written (");
                StringAssert.Contains(e.Message, "Set MLContext.TempFilePath (TMPDIR for the default) to a writable folder.");
                Assert.AreEqual(0, epochs.Count, "refused before training");
            }
            finally
            {
                SystemTool.Run("umount", "-l", mount);
            }
        }
        finally
        {
            Directory.Delete(mount, recursive: true);
        }
    }

    [TestMethod]
    public void ALoadOnAFullTempDiskSaysSoRatherThanBlamingTheModel()
    {
        // QA: LmuModelFile.Load reported the temp folder's IOException as an InvalidDataException about the model file
        // ("pass a model zip saved with ..."), which a service would answer by rejecting a good model.
        if (!OperatingSystem.IsLinux())
        {
            Assert.Inconclusive("mounts a tmpfs");
        }

        using var folder = new TempFolder();
        var (ml, model, data) = Featurizer();
        var zip = Path.Combine(folder.Path, "model.zip");
        LmuModelFile.Save(ml, model, data.Schema, zip);
        var mount = Path.Combine(Path.GetTempPath(), "lmu-full-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(mount);
        try
        {
            if (SystemTool.Run("mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", mount) != 0)
            {
                Assert.Inconclusive("cannot mount a tmpfs here (needs root and a kernel that allows it)");
            }

            try
            {
                var full = new MLContext(seed: 1) { TempFilePath = mount };
                var e = Assert.ThrowsExactly<IOException>(() => LmuModelFile.Load(full, zip, out _));
                StringAssert.Contains(e.Message, $"Could not load '{zip}': extracting it into MLContext.TempFilePath '{mount}' failed (");
                StringAssert.Contains(e.Message, "set MLContext.TempFilePath");
                Assert.IsEmpty(Directory.GetFileSystemEntries(mount), "nothing left behind");
            }
            finally
            {
                SystemTool.Run("umount", "-l", mount);
            }
        }
        finally
        {
            Directory.Delete(mount, recursive: true);
        }

        // The same zip loads where there is room.
        (LmuModelFile.Load(new MLContext(seed: 1), zip, out _) as IDisposable)?.Dispose();
    }

    [TestMethod]
    public void ALoadWhoseTempFolderCannotBeMadeOrWrittenSaysSoAsAnIOException()
    {
        // QA: TMPDIR naming a missing folder that cannot be made, or a read-only one, failed LmuModelFile.Load with a raw
        // UnauthorizedAccessException ("Access to the path '/nonexistent' is denied"), past a service's catch of IOException.
        if (!OperatingSystem.IsLinux())
        {
            Assert.Inconclusive("uses chattr");
        }

        using var folder = new TempFolder();
        var (ml, model, data) = Featurizer();
        var zip = Path.Combine(folder.Path, "model.zip");
        LmuModelFile.Save(ml, model, data.Schema, zip);
        var locked = Directory.CreateDirectory(Path.Combine(folder.Path, "locked")).FullName;
        if (SystemTool.Run("chattr", "+i", locked) != 0)
        {
            Assert.Inconclusive("chattr +i is not allowed here (needs root and ext4 or a file system like it)");
        }

        try
        {
            // Two levels down: the error names the first folder that cannot be made, not the temp folder (review).
            foreach (var temp in new[] { locked, Path.Combine(locked, "missing"), Path.Combine(locked, "a", "b") })
            {
                var e = Assert.ThrowsExactly<IOException>(() => LmuModelFile.Load(new MLContext(seed: 1) { TempFilePath = temp }, zip, out _), temp);
                StringAssert.Contains(e.Message, $"Could not load '{zip}': extracting it into MLContext.TempFilePath '{temp}' failed (");
                StringAssert.Contains(e.Message, "set MLContext.TempFilePath (TMPDIR for the default) to a writable folder");
            }
        }
        finally
        {
            SystemTool.Run("chattr", "-i", locked);
        }

        (LmuModelFile.Load(new MLContext(seed: 1), zip, out _) as IDisposable)?.Dispose();
    }

    [TestMethod]
    public void AZipAnotherProcessHoldsIsAReadFaultNotABadFile()
    {
        // QA: while a deploy copied a new zip over the path, one load in about 12,000 failed inside ML.NET as a bad model
        // file (InvalidDataException, "pass a model zip saved with ..."), the rest as the IOException they were.
        using var folder = new TempFolder();
        var zip = Path.Combine(folder.Path, "model.zip");
        File.WriteAllBytes(zip, [1, 2, 3]);
        IOException held;
        using (new FileStream(zip, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            held = Assert.ThrowsExactly<IOException>(() => File.OpenRead(zip).Dispose(), "a file held without sharing cannot be opened");
        }

        Assert.IsTrue(OnnxCarrier.ReadFault(zip, held), held.Message);
        Assert.IsFalse(OnnxCarrier.ReadFault(zip, new InvalidDataException($"'{zip}': End of Central Directory record could not be found.")), "a zip's fault");
        Assert.IsFalse(OnnxCarrier.ReadFault(zip, new EndOfStreamException($"'{zip}' ends early")), "a cut-off zip");
        Assert.IsFalse(OnnxCarrier.ReadFault(zip, new IOException("Unexpected end of stream")), "an error that names another file or none");
    }

    /// <summary>Counts epoch reports as they are made (Progress&lt;T&gt; would post them to the thread pool).</summary>
    private sealed class EpochCount : IProgress<Lmu.MLNet.Training.LmuEpochReport>
    {
        public int Count { get; private set; }

        public void Report(Lmu.MLNet.Training.LmuEpochReport value) => Count++;
    }

    [TestMethod]
    public void ADisposedTransformerRefusesToBeUsed()
    {
        var (_, model, data) = Featurizer();
        model.Dispose();
        Assert.ThrowsExactly<ObjectDisposedException>(() => model.Transform(data));
        Assert.ThrowsExactly<ObjectDisposedException>(() => model.GetRowToRowMapper(data.Schema));
        Assert.ThrowsExactly<ObjectDisposedException>(() => model.SaveOnnx(new MemoryStream()));
        Assert.ThrowsExactly<ObjectDisposedException>(() => model.ExportOnnx(Path.Combine(Path.GetTempPath(), "never-written.onnx")));
    }

    private static (MLContext Ml, LmuFeaturizerTransformer Model, IDataView Data) Featurizer()
    {
        var ml = new MLContext(seed: 1);
        var data = FeaturizerData.Load(ml, FeaturizerData.Random(4, 12, 1, seed: 3, scale: 1, offset: 0), 12);
        var model = ml.Transforms.LmuFeaturize(new LmuFeaturizerOptions { Channels = 1, Order = 4 }).Fit(data);
        return (ml, model, data);
    }

    private sealed class Unsaveable : ITransformer
    {
        public bool IsRowToRowMapper => false;

        public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => inputSchema;

        public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => throw new NotSupportedException();

        public IDataView Transform(IDataView input) => input;

        public void Save(ModelSaveContext ctx) => throw new InvalidOperationException("cannot be saved (test)");
    }

    private sealed class TempFolder : IDisposable
    {
        public TempFolder() => Directory.CreateDirectory(Path);

        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "lmu-atomic-" + Guid.NewGuid().ToString("N"));

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
