using System.Text;
using Lmu.MLNet.Samples.Cli;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>Which command lines write their CSV to standard output, and the writer that flushes once a line.</summary>
[TestClass]
public sealed class StandardOutputTargetTests
{
    [TestMethod]
    public void OnlyTheFileOutputsOfPredictAndForecastStreamAreStandardOutput()
    {
        Assert.IsTrue(StandardOutputTarget.Named(["predict", "--model", "m.zip", "--input", "r.csv", "--output", "-"]));
        Assert.IsTrue(StandardOutputTarget.Named(["forecast-stream", "--model", "e", "--observations", "o.csv", "--output=/dev/stdout"]));
        Assert.IsTrue(StandardOutputTarget.Named(["predict", "--output:-"]), "review: the parser takes ':' as well");
        Assert.IsTrue(StandardOutputTarget.Named(["--verbose", "predict", "--output", "/proc/self/fd/1"]));
        Assert.IsFalse(StandardOutputTarget.Named(["forecast", "--train", "s.csv", "--output", "-"]), "review: forecast's --output is a folder");
        Assert.IsFalse(StandardOutputTarget.Named(["classify", "--output", "/dev/stdout"]));
        Assert.IsFalse(StandardOutputTarget.Named(["predict", "--output", "scores.csv"]));
        Assert.IsFalse(StandardOutputTarget.Named(["predict", "--input", "-"]), "the input is not the output");
    }

    [TestMethod]
    public void TheWriterFlushesAtEachEndOfLineOnly()
    {
        // Review: AutoFlush flushed on every write, and predict writes field by field (72 write calls a row).
        var stream = new CountingStream();
        using (var writer = new LineFlushingWriter(new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true)))
        {
            writer.Write("1.5");
            writer.Write(',');
            writer.Write(2.5f);
            Assert.AreEqual(0, stream.Writes, "nothing reaches the stream before the end of the line");
            writer.WriteLine();
            Assert.AreEqual(1, stream.Writes, "the line reaches it at its end");
            writer.WriteLine("3,4");
            Assert.AreEqual(2, stream.Writes);
        }

        Assert.AreEqual("1.5,2.5\n3,4\n", Encoding.UTF8.GetString(stream.ToArray()).Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    // Counts the writes that carry bytes (a flush may add an empty one); a derived MemoryStream's span writes come here too.
    private sealed class CountingStream : MemoryStream
    {
        public int Writes { get; private set; }

        public override void Write(byte[] buffer, int offset, int count)
        {
            Writes += count > 0 ? 1 : 0;
            base.Write(buffer, offset, count);
        }
    }
}
