using System.Text;

namespace Lmu.MLNet.Samples.Cli;

/// <summary>
/// A writer that flushes at each end of line only: what a reader of a pipe or FIFO needs to see each line as it is made.
/// Why not <see cref="StreamWriter.AutoFlush"/>: it flushes on every write, and predict writes field by field (review:
/// 72 write calls a row, predict to standard output 4x slower).
/// </summary>
internal sealed class LineFlushingWriter(StreamWriter inner) : TextWriter
{
    public override Encoding Encoding => inner.Encoding;

    public override void Write(char value) => inner.Write(value);

    public override void Write(string? value) => inner.Write(value);

    public override void Write(char[] buffer, int index, int count) => inner.Write(buffer, index, count);

    public override void Write(ReadOnlySpan<char> buffer) => inner.Write(buffer);

    public override void WriteLine()
    {
        inner.WriteLine();
        inner.Flush();
    }

    public override void WriteLine(string? value)
    {
        inner.WriteLine(value);
        inner.Flush();
    }

    public override void WriteLine(ReadOnlySpan<char> buffer)
    {
        inner.WriteLine(buffer);
        inner.Flush();
    }

    public override void Flush() => inner.Flush();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
