namespace Lmu.MLNet.Tests.MLNet;

/// <summary>Paths compare as the operating system reads them: links in any folder resolved, ".." after a link followed.</summary>
[TestClass]
public sealed class PhysicalPathTests
{
    [TestMethod]
    public void LinksInEveryFolderAndDotDotAfterALinkResolveAsTheSystemReadsThem()
    {
        var root = Directory.CreateTempSubdirectory("lmu-physical-").FullName;
        try
        {
            var real = Directory.CreateDirectory(Path.Combine(root, "real", "sub")).FullName;
            File.WriteAllText(Path.Combine(real, "rows.csv"), "x");
            File.WriteAllText(Path.Combine(root, "real", "top.csv"), "y");
            var link = Path.Combine(root, "link");
            Directory.CreateSymbolicLink(link, real);
            var expected = PhysicalPath.Resolve(Path.Combine(real, "rows.csv"));
            Assert.AreEqual(expected, PhysicalPath.Resolve(Path.Combine(link, "rows.csv")), "a linked folder");
            // The system reads link/../top.csv as real/top.csv (the link's parent), where the text says root/top.csv.
            Assert.AreEqual(PhysicalPath.Resolve(Path.Combine(root, "real", "top.csv")), PhysicalPath.Resolve(link + "/../top.csv"));
            Assert.IsTrue(File.Exists(PhysicalPath.Resolve(link + "/../top.csv")));
            Assert.AreEqual(Path.Combine(expected[..^"rows.csv".Length], "absent", "new.csv"), PhysicalPath.Resolve(Path.Combine(link, "absent", "new.csv")), "parts that do not exist yet");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
