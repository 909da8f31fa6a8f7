namespace Lmu.MLNet.Tests.MLNet.ModelFiles;

/// <summary>
/// What each sweep takes as its own (review): a load's sweep takes random-named files of its graphs' sizes that appeared
/// during the load and that no model holds open, never ML.NET's <c>ml_dotnet_*</c> folders; a carry's sweep takes those
/// folders and copies of its own graph (a prefix of its bytes), never another model's copy.
/// </summary>
[TestClass]
public sealed class TempFileSweepTests
{
    private string _folder = string.Empty;

    [TestInitialize]
    public void MakeFolder() => _folder = Directory.CreateTempSubdirectory("lmu-sweep-unit-").FullName;

    [TestCleanup]
    public void RemoveFolder() => Directory.Delete(_folder, recursive: true);

    [TestMethod]
    public void ALoadsSweepTakesUnheldCopiesOfItsOwnGraphsOnly()
    {
        var graph = Enumerable.Range(0, 100).Select(i => (byte)(i * 3)).ToArray();
        (long, byte[])[] graphs = [(graph.Length, System.Security.Cryptography.SHA256.HashData(graph))];
        var before = Write("abcdefgh.xyz", 100, graph);
        var sweep = TempFileSweep.Before(_folder, graphs);
        var mine = Write("ijklmnop.qrs", 100, graph);
        var held = Write("tuvwxyz0.abc", 100, graph);
        var sameSize = Write("87654321.ghi", 100);
        var other = Write("12345678.def", 99);
        var folder = Directory.CreateDirectory(Path.Combine(_folder, "ml_dotnet_abc12345")).FullName;
        using (new FileStream(held, FileMode.Open, FileAccess.Read, FileShare.Read))
        {
            sweep.Sweep();
        }

        Assert.IsTrue(File.Exists(before), "there before the load");
        Assert.IsFalse(File.Exists(mine), "the load's copy");
        Assert.IsTrue(File.Exists(held), "a copy a model holds open");
        Assert.IsTrue(File.Exists(sameSize), "another model's copy of the same size (a plain Model.Load beside it; QA)");
        Assert.IsTrue(File.Exists(other), "another size");
        Assert.IsTrue(Directory.Exists(folder), "ML.NET's folders are ML.NET's");
    }

    [TestMethod]
    public void ALoadThatRanOutOfFileDescriptorsLosesTheCopyItCouldNotOpen()
    {
        // Limits QA: ML.NET wrote its copy and could not open it ("Too many open files : 'path'"); the sweep's own open to
        // tell a held copy failed the same way, so the copy stayed for good. The copy the error names goes (unlinking
        // needs no descriptor); a copy there before the load, or one the error does not name, stays.
        var graph = Enumerable.Range(0, 100).Select(i => (byte)(i * 5)).ToArray();
        (long, byte[])[] graphs = [(graph.Length, System.Security.Cryptography.SHA256.HashData(graph))];
        var before = Write("abcdefgh.xyz", 100, graph);
        var sweep = TempFileSweep.Before(_folder, graphs);
        var unopened = Write("dzr4m0yw.ytx", 100, graph);
        var heldElsewhere = Write("tuvwxyz0.abc", 100, graph);
        var failure = new InvalidOperationException("Error initializing model", new IOException($"Too many open files : '{unopened}'"));
        Assert.AreEqual(unopened, sweep.UnopenedCopy(failure));
        Assert.IsNull(sweep.UnopenedCopy(new IOException($"Too many open files : '{before}'")), "there before the load");
        Assert.IsNull(sweep.UnopenedCopy(new IOException($"No space left on device : '{unopened}'")), "another cause: the rules below decide");
        // The sweep's own exclusive open of the unopened copy failed for lack of descriptors, which reads as held: here a
        // handle makes it read as held the same way.
        using (new FileStream(heldElsewhere, FileMode.Open, FileAccess.Read, FileShare.Read))
        using (new FileStream(unopened, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete))
        {
            sweep.Sweep(failure);
        }

        Assert.IsFalse(File.Exists(unopened), "the copy the failed load could not open");
        Assert.IsTrue(File.Exists(before), "there before the load");
        Assert.IsTrue(File.Exists(heldElsewhere), "a copy a model holds open");
    }

    [TestMethod]
    public void ACarrysSweepTakesCopiesOfItsOwnGraphAndItsFolders()
    {
        var graph = Enumerable.Range(0, 100).Select(i => (byte)i).ToArray();
        // A forecaster's carry writes two graphs (its scorer and its start-of-stream state): copies of either are its own.
        var state = Enumerable.Range(0, 60).Select(i => (byte)(200 - i)).ToArray();
        var sweep = TempFileSweep.Since(_folder, graph, state);
        var whole = Write("abcdefgh.xyz", 100, graph);
        var stateCut = Write("zxcvbnma.sdf", 50, state);
        var cut = Write("ijklmnop.qrs", 40, graph);
        var heldCut = Write("qwertyui.opa", 30, graph);
        var other = Write("12345678.def", 40, graph.Reverse().ToArray());
        var folder = Directory.CreateDirectory(Path.Combine(_folder, "ml_dotnet_abc12345")).FullName;
        using (new FileStream(heldCut, FileMode.Open, FileAccess.Read, FileShare.Read))
        {
            sweep.Sweep();
        }

        Assert.IsFalse(File.Exists(whole), "a whole copy of the graph");
        Assert.IsFalse(File.Exists(cut), "a copy cut short");
        Assert.IsFalse(File.Exists(stateCut), "a copy of the second graph cut short");
        Assert.IsFalse(File.Exists(heldCut), "a copy cut short that a failed load still holds");
        Assert.IsTrue(File.Exists(other), "another model's smaller copy");
        Assert.IsFalse(Directory.Exists(folder), "a folder written since the carry began");
    }

    [TestMethod]
    public void ASweepWaitsForLoadsBesideItAndGivesUpAfterItsWait()
    {
        var graph = new byte[100];
        (long, byte[])[] graphs = [(graph.Length, System.Security.Cryptography.SHA256.HashData(graph))];
        var holder = TempFileSweep.Before(_folder, graphs);
        var mine = Write("ijklmnop.qrs", 100);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        var thread = new Thread(() => TempFileSweep.Before(_folder, graphs).Sweep());
        thread.Start();
        thread.Join();
        Assert.IsTrue(File.Exists(mine), "a load still running beside the sweep keeps the folder as it is");
        Assert.IsTrue(waited.Elapsed > TimeSpan.FromSeconds(4), waited.Elapsed.ToString());
        holder.Dispose();
        TempFileSweep.Before(_folder, []).Sweep();
        Assert.IsTrue(File.Exists(mine), "there before that sweep");
    }

    [TestMethod]
    public void TwoSpellingsOfOneFolderShareItsGate()
    {
        // Found by QA: a failing load through a linked spelling swept beside loads through the other.
        var link = _folder + "-link";
        Directory.CreateSymbolicLink(link, _folder);
        try
        {
            var graph = new byte[100];
            (long, byte[])[] graphs = [(graph.Length, System.Security.Cryptography.SHA256.HashData(graph))];
            using var holder = TempFileSweep.Before(_folder, graphs);
            var mine = Write("ijklmnop.qrs", 100);
            var waited = System.Diagnostics.Stopwatch.StartNew();
            var thread = new Thread(() => TempFileSweep.Before(link, graphs).Sweep());
            thread.Start();
            thread.Join();
            Assert.IsTrue(File.Exists(mine), "the load through the other spelling is still running");
            Assert.IsTrue(waited.Elapsed > TimeSpan.FromSeconds(4), waited.Elapsed.ToString());
        }
        finally
        {
            Directory.Delete(link);
        }
    }

    private string Write(string name, int length, byte[]? from = null)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllBytes(path, from is null ? new byte[length] : from[..length]);
        return path;
    }
}
