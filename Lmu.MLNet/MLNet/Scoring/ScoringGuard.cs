namespace Lmu.MLNet.Scoring;

/// <summary>
/// Keeps a model's native scorer (ONNX Runtime sessions inside ML.NET's OnnxTransformer) alive while any call is inside
/// it, and releases it once, after the last such call, when the model is disposed. Every call that can reach ONNX
/// Runtime runs between <see cref="Enter"/> and the entry's Dispose: a row getter for its call, a cursor for its whole
/// life (ML.NET's cursors score ahead on worker threads); after <see cref="Close"/> new calls throw
/// <see cref="ObjectDisposedException"/>.
/// </summary>
/// <remarks>
/// Why: disposing a model while another thread scored with it, or disposing one PredictionEngine that owned a model
/// other engines shared (ML.NET's default, <c>OwnsTransformer = true</c>), freed the session under running calls:
/// "double free or corruption", segmentation faults and garbage input names, found by QA. The count is taken under a
/// lock held only to count, never during the call itself, so calls run concurrently and nested entries are fine.
/// </remarks>
internal sealed class ScoringGuard
{
    private readonly Lock _lock = new();
    private readonly IDisposable? _native;
    private readonly string _name;
    private int _active;
    private bool _closed;
    private bool _released;

    /// <summary>How the model is named in messages.</summary>
    public string Name => _name;

    /// <param name="native">What to release after the last call (null: nothing native to release).</param>
    /// <param name="name">How the model is named in <see cref="ObjectDisposedException"/>.</param>
    public ScoringGuard(IDisposable? native, string name)
    {
        _native = native;
        _name = name;
    }

    /// <summary>True once <see cref="Close"/> was called (a volatile read: checked on every getter call of an open cursor).</summary>
    public bool IsClosed => Volatile.Read(ref _closed);

    /// <summary>Calls inside the scorer right now (tests).</summary>
    internal int Active
    {
        get
        {
            lock (_lock)
            {
                return _active;
            }
        }
    }

    /// <summary>Whether the native scorer has been released (tests).</summary>
    internal bool Released
    {
        get
        {
            lock (_lock)
            {
                return _released;
            }
        }
    }

    /// <summary>Marks a call inside the scorer; throws <see cref="ObjectDisposedException"/> once the model is disposed.</summary>
    public Entry Enter()
    {
        lock (_lock)
        {
            if (_closed)
            {
                throw Disposed();
            }

            _active++;
        }

        return new Entry(this);
    }

    /// <summary>Throws <see cref="ObjectDisposedException"/> once the model is disposed (for calls that reach nothing native).</summary>
    public void ThrowIfClosed()
    {
        if (IsClosed)
        {
            throw Disposed();
        }
    }

    /// <summary>Refuses new calls; the native scorer is released now, or by the last running call when it returns.</summary>
    public void Close()
    {
        bool release;
        int open;
        lock (_lock)
        {
            if (_closed)
            {
                return;
            }

            Volatile.Write(ref _closed, true);
            open = _active;
            release = open == 0;
            _released |= release;
        }

        if (release)
        {
            _native?.Dispose();
        }
        else
        {
            // A cursor or enumerator the caller never disposes keeps its entry for good, and with it the session, the
            // graph's temp copy and ML.NET's read-ahead threads, blocked on it (QA: about 4 threads, a file and 1.4 MB
            // per abandoned cursor over a few thousand rows). Said once here, where it can still be seen.
            System.Diagnostics.Trace.TraceWarning(
                $"{_name} was disposed while {open} call(s) or cursor(s) were still open: its ONNX Runtime session is released when the last of them " +
                "ends. A cursor that is never disposed keeps it, its temp file and ML.NET's worker threads for the life of the process.");
        }
    }

    private void Exit()
    {
        bool release;
        lock (_lock)
        {
            release = --_active == 0 && _closed && !_released;
            _released |= release;
        }

        if (release)
        {
            // On the thread of the last call, after that call succeeded: a failure to release (ML.NET deleting its temp
            // copy of the graph, say) must not turn it into an error. Close, on the owner's thread, lets it propagate.
            try
            {
                _native?.Dispose();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                System.Diagnostics.Trace.TraceWarning($"Releasing {_name} after its last running call failed: {e.GetType().Name}: {e.Message}");
            }
        }
    }

    private ObjectDisposedException Disposed() => new(
        _name,
        // The owner's Dispose first: the PredictionEngine hint alone misled callers of paths without one (QA: CreateEngine).
        // QA: a forecaster disposed by the user's own code, with no PredictionEngine anywhere, was blamed on one.
        "The model has been disposed; dispose a model once, when nothing uses it any more" +
        // Only a forecaster makes streaming engines (review: classifiers were told about them too).
        (_name.Contains("Forecast", StringComparison.Ordinal) ? " (streaming engines it made before stay usable). " : ". ") +
        "If your code did not dispose it and it scored through PredictionEngines, one of them did: ML.NET's CreatePredictionEngine disposes the model " +
        "with the engine unless PredictionEngineOptions.OwnsTransformer is false, and pools dispose the engines they drop (e.g. ASP.NET's " +
        "DefaultObjectPoolProvider): engines that share one model must be created with OwnsTransformer = false.");

    /// <summary>One call inside the scorer; disposing it ends the call.</summary>
    public readonly struct Entry : IDisposable
    {
        private readonly ScoringGuard? _guard;

        internal Entry(ScoringGuard guard) => _guard = guard;

        /// <inheritdoc />
        public void Dispose() => _guard?.Exit();
    }
}
