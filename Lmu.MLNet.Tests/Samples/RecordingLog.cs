using Microsoft.Extensions.Logging;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>A logger provider that keeps every formatted message (with its exception, when one is logged).</summary>
internal sealed class RecordingLog : ILoggerProvider
{
    private readonly List<string> _lines = [];

    /// <summary>What was logged so far, one entry per event.</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines) return _lines.ToArray();
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(RecordingLog owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = $"{logLevel}: {formatter(state, exception)}{(exception is null ? string.Empty : Environment.NewLine + exception)}";
            lock (owner._lines) owner._lines.Add(line);
        }
    }
}
