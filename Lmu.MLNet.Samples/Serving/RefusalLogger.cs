using Microsoft.Extensions.Logging;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// The service's logger with its warnings (refused requests: 400, 413, 415, 503 and Kestrel's own refusals) limited to
/// <paramref name="perMinute"/> lines a minute; errors and every other level pass through. A client sending bad
/// requests as fast as it can wrote 47 MB of log in 5 minutes, about 570 MB an hour (found by QA). The first warning
/// after a minute that left some out is preceded by one line counting them, naming when that minute began.
/// </summary>
internal sealed class RefusalLogger(ILogger inner, int perMinute, TimeProvider? time = null) : ILogger
{
    /// <summary>Refusal lines per minute in the service's log.</summary>
    public const int DefaultPerMinute = 100;

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly object _gate = new();
    private DateTimeOffset _minute = DateTimeOffset.MinValue;
    private int _logged;
    private long _left;

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
                if (now - _minute >= TimeSpan.FromMinutes(1))
                {
                    (left, _left, _logged, _minute) = (_left, 0, 0, now);
                }

                if (_logged == perMinute)
                {
                    _left++;
                    return;
                }

                _logged++;
            }

            if (left > 0)
            {
                // When the minute began: the count is written with the next refusal, which may come much later (review).
                inner.LogWarning("{Count} more refused requests in the minute from {Start:HH:mm:ss} UTC were not logged (at most {PerMinute} lines a minute)", left, since, perMinute);
            }
        }

        inner.Log(logLevel, eventId, state, exception, formatter);
    }
}
