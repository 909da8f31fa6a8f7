using System.Text;
using Lmu.MLNet.Data;

namespace Lmu.MLNet.Tests.MLNet.Data;

/// <summary>
/// The readers' line splitter (<see cref="StrictTextLines"/>), which finds lines chunk by chunk so that it can stop a
/// line that never ends: the same lines as <see cref="TextReader.ReadLine"/> for every mix of line ends, including ends
/// and lines that straddle its 64 Ki-character chunks, and a clear refusal of a line over the limit, of NUL characters
/// and of bytes that are not UTF-8, also from devices that never end.
/// </summary>
[TestClass]
public sealed class StrictTextLinesTests
{
    private string _temp = string.Empty;

    [TestInitialize]
    public void MakeTemp()
    {
        _temp = Path.Combine(Path.GetTempPath(), "lmu-lines-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_temp);
    }

    [TestCleanup]
    public void RemoveTemp() => Directory.Delete(_temp, recursive: true);

    [TestMethod]
    [DataRow(1, 40)]
    [DataRow(2, 70_000)]
    [DataRow(3, 200_000)]
    public void LinesAreThoseReadLineFindsForEveryMixOfLineEnds(int seed, int longest)
    {
        // Lines of random lengths (some longer than a chunk, so that ends and \r\n pairs fall on every chunk offset),
        // ended by \n, \r\n or \r, empty lines included, with and without an end on the last line.
        var random = new Random(seed);
        var text = new StringBuilder();
        string[] ends = ["\n", "\r\n", "\r"];
        for (var i = 0; i < 400; i++)
        {
            var length = random.Next(4) == 0 ? random.Next(longest) : random.Next(12);
            text.Append('x', length).Append(i % 10).Append(ends[random.Next(3)]);
        }

        foreach (var last in new[] { string.Empty, "tail", "tail\r" })
        {
            var path = Path.Combine(_temp, "mixed.txt");
            File.WriteAllText(path, text + last, new UTF8Encoding(false));
            var expected = File.ReadLines(path).ToArray();
            var actual = StrictTextLines.Read(path).ToArray();
            Assert.HasCount(expected.Length, actual, $"last '{last}'");
            for (var i = 0; i < expected.Length; i++)
            {
                Assert.AreEqual(expected[i], actual[i], $"line {i + 1}, last '{last}'");
            }
        }
    }

    [TestMethod]
    public void ALastLineWithoutAnEndIsRefusedOnlyWhenTheFileGrewWhileItWasRead()
    {
        // QA: a reading appended in two writes ("94", then ".313\n") was read as 94 by forecast-stream.
        var still = Path.Combine(_temp, "still.csv");
        File.WriteAllText(still, "1\n2\n9");
        CollectionAssert.AreEqual(new[] { "1", "2", "9" }, StrictTextLines.Read(still).ToArray(), "a file that stood still: its last line counts");

        var growing = Path.Combine(_temp, "growing.csv");
        File.WriteAllText(growing, "1\n2\n");
        using var lines = StrictTextLines.Read(growing).GetEnumerator();
        Assert.IsTrue(lines.MoveNext());
        Assert.AreEqual("1", lines.Current);
        File.AppendAllText(growing, "9");                         // a writer's first half of "9.5\n"
        Assert.IsTrue(lines.MoveNext());
        Assert.AreEqual("2", lines.Current);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => lines.MoveNext());
        StringAssert.Contains(e.Message, $"'{growing}' line 3 has no line end, and the file grew while it was read");

        // A /proc file reports a length of 0 whatever it holds: not growth (review: /proc/self/loginuid was refused).
        if (OperatingSystem.IsLinux() && File.Exists("/proc/self/loginuid"))
        {
            Assert.HasCount(1, StrictTextLines.Read("/proc/self/loginuid").ToArray());
        }

        var finished = Path.Combine(_temp, "finished.csv");
        File.WriteAllText(finished, "1\n2\n");
        using var ended = StrictTextLines.Read(finished).GetEnumerator();
        Assert.IsTrue(ended.MoveNext());
        File.AppendAllText(finished, "9.5\n");                   // grown by a whole line: read as it is
        Assert.IsTrue(ended.MoveNext());
        Assert.IsTrue(ended.MoveNext());
        Assert.AreEqual("9.5", ended.Current);
        Assert.IsFalse(ended.MoveNext());
    }

    [TestMethod]
    public void ACarriageReturnAndLineFeedSplitByAChunkEndAreOneEnd()
    {
        // The chunk is 65,536 characters: "\r" its last, "\n" the next chunk's first.
        var path = Path.Combine(_temp, "split.txt");
        File.WriteAllText(path, new string('a', 65_535) + "\r\nb\r\n\r\nc", new UTF8Encoding(false));
        CollectionAssert.AreEqual(new[] { new string('a', 65_535), "b", string.Empty, "c" }, StrictTextLines.Read(path).ToArray());
    }

    [TestMethod]
    public void ALineOverTheLimitIsRefusedNamingItsNumber()
    {
        var path = Path.Combine(_temp, "long.txt");
        File.WriteAllText(path, "short\n" + new string('7', 100) + "\n" + new string('8', 101) + "\nnever read\n");
        var read = new List<string>();
        var e = Assert.ThrowsExactly<InvalidDataException>(() => read.AddRange(StrictTextLines.Read(path, 100)));
        Assert.AreEqual($"'{path}' line 3 is longer than 100 characters, the most a line may hold: the file is not line-based text (a binary file, or a device such as /dev/zero), or one line holds a whole long series; write such a series one value per line (the long layout).", e.Message);
        Assert.HasCount(2, read, "the lines before it were read, the one at the limit included");

        // Over several chunks, at the real limit.
        File.WriteAllText(path, "1,2\n" + new string('9', StrictTextLines.MaxLineCharacters + 1));
        StringAssert.StartsWith(Assert.ThrowsExactly<InvalidDataException>(() => StrictTextLines.Read(path).Count()).Message,
            $"'{path}' line 2 is longer than 16,777,216 characters");
    }

    [TestMethod]
    public void DevicesThatNeverEndAreRefusedNotReadUntilMemoryRunsOut()
    {
        if (!File.Exists("/dev/zero") || !File.Exists("/dev/urandom"))
        {
            Assert.Inconclusive("this host has no /dev/zero or /dev/urandom");
        }

        // QA: `lmu classify --train /dev/zero` read one endless line until the process ran out of memory.
        StringAssert.StartsWith(Assert.ThrowsExactly<InvalidDataException>(() => StrictTextLines.Read("/dev/zero").Count()).Message,
            "'/dev/zero' line 1 holds NUL characters");
        // Random bytes fail the UTF-8 check, whose search for the byte must not read the whole (endless) file either.
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => StrictTextLines.Read("/dev/urandom").Count()).Message,
            "is not UTF-8 text");
    }

    [TestMethod]
    public void AByteOrderMarkKeepsTheCheckStrictAndNamesItsEncoding()
    {
        // Review: after a UTF-8 byte-order mark (a spreadsheet's "CSV UTF-8" writes one) the reader switched to lenient
        // UTF-8, so Latin-1 "café" read as "caf\uFFFD" without a word.
        var marked = Path.Combine(_temp, "marked.csv");
        File.WriteAllBytes(marked, [0xEF, 0xBB, 0xBF, .. "label,a\ntea,1\n"u8, .. "caf"u8, 0xE9, .. ",2\n"u8]);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => StrictTextLines.Read(marked).Count());
        StringAssert.StartsWith(e.Message, $"'{marked}' line 3: byte 0xE9 is not UTF-8 text.");

        // UTF-16 with its mark: a lone surrogate is refused too (it became U+FFFD), naming the encoding.
        var utf16 = Path.Combine(_temp, "utf16.csv");
        File.WriteAllBytes(utf16, [0xFF, 0xFE, .. Encoding.Unicode.GetBytes("label,a\ntea,1\n"), 0x00, 0xD8, (byte)',', 0, (byte)'2', 0, (byte)'\n', 0]);
        e = Assert.ThrowsExactly<InvalidDataException>(() => StrictTextLines.Read(utf16).Count());
        StringAssert.StartsWith(e.Message, $"'{utf16}': the text is not valid UTF-16, which its byte-order mark declares");

        // Every marked encoding reads as its text, the mark not part of the first line.
        foreach (var encoding in new Encoding[] { new UTF8Encoding(true), Encoding.Unicode, Encoding.BigEndianUnicode, Encoding.UTF32, new UTF32Encoding(bigEndian: true, byteOrderMark: true) })
        {
            var path = Path.Combine(_temp, "text.csv");
            File.WriteAllText(path, "label,a\ncafé,1\n🐈,2", encoding);
            CollectionAssert.AreEqual(new[] { "label,a", "café,1", "🐈,2" }, StrictTextLines.Read(path).ToArray(), encoding.EncodingName);
        }
    }

    [TestMethod]
    public void TheBadBytesLineCountsLoneCarriageReturnsAsTheReaderDoes()
    {
        // Review: the line was counted by \n alone, so a file of lone \r ends was said to fail on line 1.
        var path = Path.Combine(_temp, "cr.csv");
        File.WriteAllBytes(path, [.. "a\rb\r\nc\r\rd"u8, 0xE9, .. "\r"u8]);
        StringAssert.StartsWith(Assert.ThrowsExactly<InvalidDataException>(() => StrictTextLines.Read(path).Count()).Message, $"'{path}' line 5: byte 0xE9");
        File.WriteAllBytes(path, [.. "a\r"u8, 0xE9]);
        StringAssert.StartsWith(Assert.ThrowsExactly<InvalidDataException>(() => StrictTextLines.Read(path).Count()).Message, $"'{path}' line 2: byte 0xE9");
    }

    [TestMethod]
    public void TheFirstByteThatIsNotUtf8IsFoundPastTheFirstMegabyteAndAcrossASplitSequence()
    {
        // The search reads 1 MiB at a time: a 3-byte character straddles the first boundary, the bad byte is far after.
        var bytes = new List<byte>(Encoding.UTF8.GetBytes(new string('a', (1 << 20) - 1)));
        bytes.AddRange(Encoding.UTF8.GetBytes("€\n"));
        for (var i = 0; i < 30_000; i++)
        {
            bytes.AddRange("1,2,3\n"u8.ToArray());
        }

        bytes.AddRange([.. "caf"u8, 0xE9, (byte)'\n']);
        var path = Path.Combine(_temp, "late.csv");
        File.WriteAllBytes(path, [.. bytes]);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => StrictTextLines.Read(path).Count());
        StringAssert.StartsWith(e.Message, $"'{path}' line 30002: byte 0xE9 is not UTF-8 text.");
        Assert.DoesNotContain("NUL", e.Message);
    }
}
