using Lmu.MLNet.Samples.Serving;
using Microsoft.Extensions.Logging;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>
/// serve's log under a flood of bad requests: at most so many refusal lines (warnings) a minute, then one line counting
/// those left out; errors (the service's own failures) always logged. QA's flood wrote 47 MB in 5 minutes.
/// </summary>
[TestClass]
public sealed class RefusalLoggerTests
{
    [TestMethod]
    public void WarningsBeyondTheMinutesBudgetAreCountedNotWrittenAndErrorsAlwaysPass()
    {
        var time = new ManualTime();
        var lines = new List<(LogLevel Level, string Text)>();
        var log = new RefusalLogger(new Capture(lines), perMinute: 3, time);
        for (var i = 0; i < 10; i++)
        {
            log.LogWarning("refused {Number}", i);
        }

        log.LogError("failed inside");
        CollectionAssert.AreEqual(new[] { "refused 0", "refused 1", "refused 2", "failed inside" }, lines.Select(l => l.Text).ToArray());

        // 59 s later the minute is not over; at 60 s the count of the 7 left out comes first, then the new minute's lines.
        time.Advance(TimeSpan.FromSeconds(59));
        log.LogWarning("refused {Number}", 10);
        Assert.HasCount(4, lines);
        time.Advance(TimeSpan.FromSeconds(1));
        log.LogWarning("refused {Number}", 11);
        log.LogWarning("refused {Number}", 12);
        CollectionAssert.AreEqual(
            new[] { "8 more refused requests in the minute from 12:00:00 UTC were not logged (at most 3 lines a minute)", "refused 11", "refused 12" },
            lines.Skip(4).Select(l => l.Text).ToArray());
        Assert.IsTrue(lines.Skip(4).All(l => l.Level == LogLevel.Warning));

        // A quiet minute after that: nothing was left out, so no count line.
        time.Advance(TimeSpan.FromMinutes(5));
        log.LogWarning("refused {Number}", 13);
        Assert.AreEqual("refused 13", lines[^1].Text);
        Assert.HasCount(8, lines);
    }

    [TestMethod]
    public void AFloodThatStopsIsCountedWhenItsMinuteEndsAndAtShutdown()
    {
        var time = new ManualTime();
        var lines = new List<(LogLevel Level, string Text)>();
        var log = new RefusalLogger(new Capture(lines), perMinute: 2, time);
        for (var i = 0; i < 7; i++)
        {
            log.LogWarning("refused {Number}", i);
        }

        // The flood stops. The count used to wait for the next refusal (review: maybe hours); it comes at the minute's end,
        // also when the timer fires a little early by the clock (review: 62 of 200 system timers did): it waits out the rest.
        time.Advance(TimeSpan.FromSeconds(59.9));
        Assert.HasCount(2, lines);
        time.FireEarly(TimeSpan.FromMilliseconds(1));
        Assert.HasCount(2, lines, "fired 1 ms early: not yet");
        time.Advance(TimeSpan.FromSeconds(0.1));
        CollectionAssert.AreEqual(
            new[] { "refused 0", "refused 1", "5 more refused requests in the minute from 12:00:00 UTC were not logged (at most 2 lines a minute)" },
            lines.Select(l => l.Text).ToArray());

        // Written once: neither the next minute's first refusal nor a later timer repeats it.
        time.Advance(TimeSpan.FromMinutes(3));
        log.LogWarning("refused {Number}", 7);
        Assert.AreEqual("refused 7", lines[^1].Text);
        Assert.HasCount(4, lines);

        // At shutdown the running minute's count is written, though the minute is not over.
        log.LogWarning("refused {Number}", 8);
        log.LogWarning("refused {Number}", 9);
        log.LogWarning("refused {Number}", 10);
        log.Dispose();
        Assert.AreEqual("2 more refused requests in the minute from 12:04:00 UTC were not logged (at most 2 lines a minute)", lines[^1].Text);
        Assert.HasCount(6, lines);
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.HasCount(6, lines, "the timer is gone after Dispose");
    }

    [TestMethod]
    public void WhatAClientSentIsLoggedPrintableAndBounded()
    {
        // Hostile-clients QA: a series id holding CR or ESC reached the log raw (a forged line, a moved cursor), and a
        // refused value of a megabyte was logged whole.
        var lines = new List<(LogLevel Level, string Text)>();
        var log = new RefusalLogger(new Capture(lines), perMinute: 10);
        log.LogWarning("POST /series/{Id}/observe answered 400", "a\r\nfail: forged\u001B[31m\u2028");
        log.LogError("failed: {Value}", new string('9', 50_000));
        Assert.AreEqual("POST /series/a\\u000D\\u000Afail: forged\\u001B[31m\\u2028/observe answered 400", lines[0].Text);
        Assert.AreEqual($"failed: {new string('9', RefusalLogger.MaxLineLength - 8)}... (50,008 characters)", lines[1].Text);
    }

    [TestMethod]
    public void AClientsTextIsQuotedShortAndPrintable()
    {
        Assert.AreEqual("1.5", ClientText.Quote("1.5"), "short printable text is quoted as it is");
        Assert.AreEqual(new string('x', 80), ClientText.Quote(new string('x', 80)));
        Assert.AreEqual($"{new string('x', 80)}... (81 characters)", ClientText.Quote(new string('x', 81)));
        Assert.AreEqual("tab\\u0009del\\u007Fc1\\u0085é", ClientText.Quote("tab\tdel\u007Fc1\u0085é"));
        // Review: a right-to-left override reordered what a log line showed, and a cut could split a surrogate pair.
        Assert.AreEqual("abc\\u202Edef\\u200Bg", ClientText.Quote("abc\u202Edef\u200Bg"));
        Assert.AreEqual($"{new string('x', 79)}... (83 characters)", ClientText.Quote(new string('x', 79) + "\U0001F600xx"));
        Assert.AreEqual("\U0001F600", ClientText.Quote("\U0001F600"), "a whole pair is kept");
    }

    /// <summary>A clock moved by hand, whose timers fire when <see cref="Advance"/> passes their due time.</summary>
    private sealed class ManualTime : TimeProvider
    {
        private readonly List<ManualTimer> _timers = [];

        public DateTimeOffset Now { get; private set; } = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = new ManualTimer(this, callback, state);
            timer.Change(dueTime, period);
            _timers.Add(timer);
            return timer;
        }

        /// <summary>Moves the clock to <paramref name="before"/> ahead of the first armed timer's due time and fires it, as system timers may.</summary>
        public void FireEarly(TimeSpan before)
        {
            var timer = _timers.Where(t => t.Due != DateTimeOffset.MaxValue).MinBy(t => t.Due)!;
            Now = timer.Due - before;
            timer.Fire();
        }

        public void Advance(TimeSpan by)
        {
            Now += by;
            foreach (var timer in _timers.Where(t => t.Due <= Now).ToList())
            {
                timer.Fire();
            }
        }

        private sealed class ManualTimer(ManualTime time, TimerCallback callback, object? state) : ITimer
        {
            public DateTimeOffset Due { get; private set; } = DateTimeOffset.MaxValue;

            public bool Change(TimeSpan dueTime, TimeSpan period)
            {
                Assert.AreEqual(Timeout.InfiniteTimeSpan, period, "one-shot timers only");
                Due = dueTime == Timeout.InfiniteTimeSpan ? DateTimeOffset.MaxValue : time.Now + dueTime;
                return true;
            }

            public void Fire()
            {
                Due = DateTimeOffset.MaxValue;
                callback(state);
            }

            public void Dispose() => Due = DateTimeOffset.MaxValue;

            public ValueTask DisposeAsync()
            {
                Dispose();
                return ValueTask.CompletedTask;
            }
        }
    }

    private sealed class Capture(List<(LogLevel, string)> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Add((logLevel, formatter(state, exception)));
    }
}
