using Lmu.MLNet.Training;

namespace Lmu.MLNet.Tests.MLNet.Classification;

/// <summary>A private temp folder per test, checked empty of ML.NET temp files and removed afterwards.</summary>
public abstract class ClassifierTestBase
{
    protected string Temp { get; private set; } = string.Empty;

    /// <summary>The folder given to MLContext.TempFilePath: nothing may be left in it.</summary>
    protected string MlTemp { get; private set; } = string.Empty;

    [TestInitialize]
    public void MakeTempDir()
    {
        Temp = Path.Combine(Path.GetTempPath(), "lmu-classifier-" + Guid.NewGuid().ToString("N"));
        MlTemp = Path.Combine(Temp, "ml");
        Directory.CreateDirectory(MlTemp);
    }

    [TestCleanup]
    public void RemoveTempDir() => Directory.Delete(Temp, recursive: true);

    protected void AssertNoTempFiles() =>
        CollectionAssert.AreEqual(Array.Empty<string>(), Directory.GetFileSystemEntries(MlTemp), "temp files left behind in MLContext.TempFilePath");

    /// <summary>IProgress that reports on the calling thread (Progress&lt;T&gt; posts to the thread pool).</summary>
    protected sealed class Inline(Action<LmuEpochReport> report) : IProgress<LmuEpochReport>
    {
        public void Report(LmuEpochReport value) => report(value);
    }
}
