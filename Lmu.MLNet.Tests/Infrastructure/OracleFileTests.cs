namespace Lmu.MLNet.Tests.Infrastructure;

/// <summary>The oracle must be found from both checkout layouts: shared/ beside the repository root or one level higher.</summary>
[TestClass]
public sealed class OracleFileTests
{
    [TestMethod]
    public void FindWalksUpToTheFirstAncestorHoldingShared()
    {
        var root = Directory.CreateTempSubdirectory("lmu-oracle-").FullName;
        try
        {
            // Layout of a worktree: <root>/shared/reference/... and the binaries at <root>/wt/repo/bin/Release.
            var oracle = Path.Combine(root, OracleFile.RelativePath);
            Directory.CreateDirectory(Path.GetDirectoryName(oracle)!);
            File.WriteAllText(oracle, "{}");
            var deep = Directory.CreateDirectory(Path.Combine(root, "wt", "repo", "bin", "Release")).FullName;

            Assert.AreEqual(oracle, OracleFile.Find(deep));
            Assert.AreEqual(oracle, OracleFile.Find(root));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [TestMethod]
    public void FindReturnsNullWhenNoAncestorHoldsShared()
    {
        var root = Directory.CreateTempSubdirectory("lmu-oracle-").FullName;
        try
        {
            // Only a decoy without the reference file: the search must not stop at a bare shared/ folder.
            Directory.CreateDirectory(Path.Combine(root, "shared", "reference"));
            var start = Directory.CreateDirectory(Path.Combine(root, "a", "b")).FullName;

            // Ancestors above the temp folder (e.g. /tmp, /) are outside our control; skip if one happens to hold the file.
            if (OracleFile.Find(Path.GetDirectoryName(root)!) is { } outside)
            {
                Assert.Inconclusive($"An ancestor of the temp folder already holds the oracle: {outside}");
            }

            Assert.IsNull(OracleFile.Find(start));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [TestMethod]
    public void LoadParsesTheSharedOracle()
    {
        var root = OracleFile.Load();
        foreach (var key in new[] { "continuous", "discrete", "impulse", "decoders", "forward" })
        {
            Assert.IsTrue(root.TryGetProperty(key, out _), $"oracle lacks '{key}'");
        }
    }
}
