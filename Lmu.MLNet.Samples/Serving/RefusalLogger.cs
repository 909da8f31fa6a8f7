using Microsoft.Extensions.Logging;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// The service's logger with its warnings (refused requests: 400, 413, 415, 503 and Kestrel's own refusals) limited to
/// <paramref name="perMinute"/> lines a minute; errors and every other level pass through. A client sending bad
/// requests as fast as it can wrote 47 MB of log in 5 minutes, about 570 MB an hour (found by QA). When a minute left
/// some out, one line counts them, naming when that minute began: written when the minute ends, or by
/// <see cref="Dispose"/> at shutdown. It was written with the next refusal, which after a flood may come hours later.
/// Every line's message is made printable and bounded (<see cref="ClientText"/>, <see cref="MaxLineLength"/>).
/// </summary>
internal sealed class RefusalLogger(ILogger inner, int perMinute, TimeProvider? time = null) : ILogger, IDisposable
{
    /// <summary>Refusal lines per minute in the service's log.</summary>
    public const int DefaultPerMinute = 100;

    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly object _gate = new();
    private DateTimeOffset _minute = DateTimeOffset.MinValue;
    private int _logged;
    private long _left;
    private ITimer? _endOfMinute;
    private bool _disposed;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => inner.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (logLevel == LogLevel.Warning)
        {
            long left;
            DateTimeOffset since;
            lock (_gate)
            {
                var now = _time.GetUtcNow();
                (left, since) = (0, _minute);
                if (now - _minute >= Minute)
                {
                    // A count the timer has not written yet (it fires on the thread pool, maybe just after this).
                    (left, _left, _logged, _minute) = (_left, 0, 0, now);
                }

                if (_logged == perMinute)
                {
                    if (_left++ == 0 && !_disposed)
                    {
                        // The first line left out this minute: count the rest when the minute ends.
                        _endOfMinute ??= _time.CreateTimer(_ => WriteCount(endOfMinuteOnly: true), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                        _endOfMinute.Change(_minute + Minute - now, Timeout.InfiniteTimeSpan);
                    }

                    return;
                }

                _logged++;
            }

            Count(left, since);
        }

        // What clients sent reaches these lines (a series id, a path, a refused value): control characters escaped and
        // the line bounded, so that no client can forge lines or fill the log with one request (see ClientText).
        inner.Log(logLevel, eventId, state, exception, (s, e) => ClientText.Quote(formatter(s, e), MaxLineLength));
    }

    /// <summary>The most characters of one line's message (a stack trace, with --verbose, comes after it in full).</summary>
    public const int MaxLineLength = 2000;

    /// <summary>Writes the count of a minute not yet written (at shutdown, that of the minute still running).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _endOfMinute?.Dispose();
        }

        WriteCount(endOfMinuteOnly: false);
    }

    private void WriteCount(bool endOfMinuteOnly)
    {
        long left;
        DateTimeOffset since;
        lock (_gate)
        {
            var early = _minute + Minute - _time.GetUtcNow();
            if (endOfMinuteOnly && early > TimeSpan.Zero)
            {
                // Timers may fire a little before their time by the wall clock (review: 62 of 200 did, by up to 0.8 ms,
                // and then the count waited for the next refusal): wait out the rest.
                if (_left > 0 && !_disposed)
                {
                    _endOfMinute?.Change(early, Timeout.InfiniteTimeSpan);
                }

                return;
            }

            (left, since, _left) = (_left, _minute, 0);
        }

        Count(left, since);
    }

    private void Count(long left, DateTimeOffset since)
    {
        if (left > 0)
        {
            inner.LogWarning("{Count} more refused requests in the minute from {Start:HH:mm:ss} UTC were not logged (at most {PerMinute} lines a minute)", left, since, perMinute);
        }
    }
}
