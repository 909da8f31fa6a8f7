using Lmu.MLNet.Samples.Serving;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>
/// What bounds the series <c>serve --series</c> holds in memory (QA: every series ever seen was kept, until the process
/// died): a count limit, a memory limit for new series, and the idle rule, on a hand-moved clock.
/// </summary>
[TestClass]
public sealed class SeriesDirectoryTests
{
    private const long MB = 1_000_000;

    [TestMethod]
    public async Task ANewSeriesIsRefusedAtTheCountLimitAndAdmittedOnceOneIsRemoved()
    {
        var directory = Directory(new SeriesLimits(2, TimeSpan.Zero), new Clock(), () => new ProcessMemoryUse(10 * MB, 1000 * MB, "test"));
        Assert.IsNull(directory.Refusal("a"));
        directory.Applied("a", 1);
        directory.Applied("b", 4);
        Assert.IsNull(directory.Refusal("a"), "a held series goes on");
        var refusal = directory.Refusal("c");
        Assert.AreEqual("The service holds 2 series, its limit (--series-max 2); a new series is admitted when one is forgotten: removed with DELETE /series/{id}, or forgotten when idle if --series-idle is set.", refusal);
        await directory.RemovedAsync("a");
        Assert.IsNull(directory.Refusal("c"));
        Assert.AreEqual(1, directory.Count);
        // Reads and removals of ids not held are answered without a grain (Orleans QA: each activated one).
        Assert.IsTrue(directory.Holds("b"));
        Assert.IsFalse(directory.Holds("a"), "removed");
        Assert.IsFalse(directory.Holds("c"), "admitted, not yet applied");
        // Review: a series whose applying call failed on its way back was never listed, so its reads answered 404.
        directory.Known("d", 3);
        Assert.IsTrue(directory.Holds("d"));
    }

    [TestMethod]
    public void ANewSeriesIsRefusedPastTheMemoryShareWhateverTheCount()
    {
        var used = 799 * MB;
        var directory = Directory(new SeriesLimits(0, TimeSpan.FromMinutes(30)), new Clock(), () => new ProcessMemoryUse(used, 1000 * MB, "the GC heap hard limit, against the managed heap"));
        directory.Applied("held", 3);
        Assert.IsNull(directory.Refusal("new"), "799 MB of 1,000 is under 80 %");
        used = 801 * MB;
        Assert.AreEqual(
            "The service holds 1 series and the memory counted is at 801 MB, over its line of 800 MB (80 % of its 1,000 MB limit, at most the limit less 64 MiB; the GC heap hard limit, against the managed heap); a new series is admitted when memory is freed: idle for 30 minute(s) (--series-idle), or removed with DELETE /series/{id}, or run more servers.",
            directory.Refusal("new"));
        Assert.IsNull(directory.Refusal("held"), "a held series is never refused: its room is taken already");
    }

    [TestMethod]
    public void ASmallLimitKeepsItsHeadroomBelowTheShare()
    {
        // Limits QA: memory went on rising 14-25 MB past the line under 32-64 clients, and 80 % of a 157 MB group left 31 MB:
        // killed by the kernel in 3 of 6 runs. The line is at most the limit less 64 MiB (67.1 MB): 89.9 MB of 157 MB.
        var used = 89 * MB;
        var directory = Directory(new SeriesLimits(0, TimeSpan.Zero), new Clock(), () => new ProcessMemoryUse(used, 157 * MB, "the memory limit of its control group"));
        Assert.IsNull(directory.Refusal("new"), "89 MB: under the line");
        used = 100 * MB;
        StringAssert.Contains(directory.Refusal("new"), "the memory counted is at 100 MB, over its line of 90 MB (80 % of its 157 MB limit, at most the limit less 64 MiB;");
        Assert.AreEqual(800 * MB, SeriesDirectory.RefusalLine(1000 * MB), "large limits keep 80 %");
    }

    [TestMethod]
    public async Task ASeriesQuietForTheIdleTimeIsForgottenAtItsLastNumberOnly()
    {
        var clock = new Clock();
        var calls = new List<(string Id, long? At)>();
        var refuse = new HashSet<string>();
        var directory = new SeriesDirectory(new SeriesLimits(0, TimeSpan.FromMinutes(60)), clock, () => new ProcessMemoryUse(0, 1, "test"), (id, at) =>
        {
            calls.Add((id, at));
            if (id == "broken")
            {
                throw new InvalidOperationException("storage is down");
            }

            return Task.FromResult(!refuse.Contains(id));
        }, id => Task.FromResult(id == "moved" ? 6L : 0L), () => { }, NullLogger.Instance);
        directory.Applied("quiet", 7);
        directory.Applied("broken", 2);
        directory.Applied("moved", 5);
        clock.Now += TimeSpan.FromMinutes(30);
        directory.Applied("busy", 9);
        clock.Now += TimeSpan.FromMinutes(29);
        Assert.AreEqual(0, await directory.SweepAsync(CancellationToken.None), "nothing quiet for an hour yet");
        Assert.IsEmpty(calls);

        clock.Now += TimeSpan.FromMinutes(1);
        // "moved" took a reading the directory has not recorded yet: its grain keeps it (false), and so does the directory.
        refuse.Add("moved");
        Assert.AreEqual(1, await directory.SweepAsync(CancellationToken.None));
        CollectionAssert.AreEquivalent(new (string, long?)[] { ("quiet", 7), ("broken", 2), ("moved", 5) }, calls);
        Assert.AreEqual(3, directory.Count, "broken (its removal failed), moved and busy are held; quiet is gone");
        Assert.IsNull(directory.Refusal("quiet"));

        // Zero keeps every series.
        var keeping = Directory(new SeriesLimits(0, TimeSpan.Zero), clock, () => new ProcessMemoryUse(0, 1, "test"));
        keeping.Applied("kept", 1);
        clock.Now += TimeSpan.FromDays(400);
        Assert.AreEqual(0, await keeping.SweepAsync(CancellationToken.None));
        Assert.AreEqual(1, keeping.Count);
    }

    [TestMethod]
    public async Task AnEntryWhoseSeriesHoldsNothingIsDroppedBySweepAndRemoval()
    {
        // Review: an answer recorded after a DELETE had removed its series left an entry that the sweep kept (the forget
        // found nothing to remove) and that counted against --series-max for good.
        var clock = new Clock();
        var directory = new SeriesDirectory(new SeriesLimits(1, TimeSpan.FromMinutes(1)), clock, () => new ProcessMemoryUse(0, 1, "test"),
            (_, _) => Task.FromResult(false), _ => Task.FromResult(0L), () => { }, NullLogger.Instance);
        directory.Applied("phantom", 2);
        Assert.IsNotNull(directory.Refusal("new"), "the phantom holds the one place");
        clock.Now += TimeSpan.FromMinutes(2);
        Assert.AreEqual(0, await directory.SweepAsync(CancellationToken.None), "nothing was removed from the store");
        Assert.AreEqual(0, directory.Count, "but the entry is gone");
        Assert.IsNull(directory.Refusal("new"));
    }

    [TestMethod]
    public async Task ARemovalKeepsTheEntryOfAReadingAppliedSinceAndDropsAPhantom()
    {
        // Review: DELETE dropped the entry after removing the series from the store, so a first reading of the series
        // anew, applied and recorded in between, was left stored but unlisted (never swept, never counted).
        var stored = new Dictionary<string, long>();
        SeriesDirectory directory = null!;
        Action? between = null;
        directory = new SeriesDirectory(new SeriesLimits(2, TimeSpan.Zero), new Clock(), () => new ProcessMemoryUse(0, 1, "test"),
            (_, _) => Task.FromResult(true), id =>
            {
                between?.Invoke();
                return Task.FromResult(stored.GetValueOrDefault(id));
            }, () => { }, NullLogger.Instance);

        directory.Applied("anew", 9);
        stored["anew"] = 1;                         // removed from the store, then reading 1 applied and recorded
        directory.Applied("anew", 1);
        await directory.RemovedAsync("anew");
        Assert.AreEqual(1, directory.Count, "the series holds reading 1: its entry stays");

        directory.Applied("racing", 4);             // the store emptied; reading 1 is recorded just after the removal read it
        between = () =>
        {
            between = null;
            directory.Applied("racing", 1);
        };
        await directory.RemovedAsync("racing");
        Assert.AreEqual(2, directory.Count, "an entry recorded after the store was read stays");

        directory.Applied("phantom", 3);            // an answer recorded after its series was removed: the store is empty
        await directory.RemovedAsync("anew");
        stored.Remove("anew");
        await directory.RemovedAsync("anew");
        await directory.RemovedAsync("phantom");
        Assert.AreEqual(1, directory.Count, "the emptied series and the phantom go; the racing one stays");
        Assert.IsNull(directory.Refusal("next"));
    }

    [TestMethod]
    public void MemoryIsMeasuredAgainAfterAFullCollectionBeforeANewSeriesIsRefused()
    {
        // Review: forgotten series stayed garbage in the heap for minutes, and new series were refused with none held.
        var clock = new Clock();
        var used = 900 * MB;
        var collections = 0;
        var directory = new SeriesDirectory(new SeriesLimits(0, TimeSpan.Zero), clock, () => new ProcessMemoryUse(used, 1000 * MB, "test"),
            (_, _) => Task.FromResult(true), _ => Task.FromResult(0L), () => { collections++; used = 100 * MB; }, NullLogger.Instance);
        Assert.IsNull(directory.Refusal("a"), "admitted once a collection freed the garbage");
        Assert.AreEqual(1, collections);
        used = 900 * MB;
        Assert.IsNotNull(directory.Refusal("b"), "refused: a collection within 30 s of the last is not forced again");
        Assert.AreEqual(1, collections);
        clock.Now += SeriesDirectory.CollectEvery;
        used = 900 * MB;
        Assert.IsNull(directory.Refusal("c"));
        Assert.AreEqual(2, collections);
    }

    private static SeriesDirectory Directory(SeriesLimits limits, TimeProvider clock, Func<ProcessMemoryUse> memory) =>
        new(limits, clock, memory, (_, _) => Task.FromResult(true), _ => Task.FromResult(0L), () => { }, NullLogger.Instance);

    private sealed class Clock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
