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
        time.Now += TimeSpan.FromSeconds(59);
        log.LogWarning("refused {Number}", 10);
        Assert.HasCount(4, lines);
        time.Now += TimeSpan.FromSeconds(1);
        log.LogWarning("refused {Number}", 11);
        log.LogWarning("refused {Number}", 12);
        CollectionAssert.AreEqual(
            new[] { "8 more refused requests in the minute from 12:00:00 UTC were not logged (at most 3 lines a minute)", "refused 11", "refused 12" },
            lines.Skip(4).Select(l => l.Text).ToArray());
        Assert.IsTrue(lines.Skip(4).All(l => l.Level == LogLevel.Warning));

        // A quiet minute after that: nothing was left out, so no count line.
        time.Now += TimeSpan.FromMinutes(5);
        log.LogWarning("refused {Number}", 13);
        Assert.AreEqual("refused 13", lines[^1].Text);
        Assert.HasCount(8, lines);
    }

    private sealed class ManualTime : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
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
