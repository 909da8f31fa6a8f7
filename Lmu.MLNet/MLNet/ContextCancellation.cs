namespace Lmu.MLNet;

/// <summary>
/// A token that is cancelled when the caller's token is, or when the MLContext's own flag (MLContext.CancelExecution,
/// which has no token) is set: a timer polls the flag. For work that checks a token as it goes (the ridge solver, the
/// experiment's trials); dispose it when the work ends.
/// </summary>
internal sealed class ContextCancellation : IDisposable
{
    /// <summary>How often the context's flag is read.</summary>
    private const int PollMilliseconds = 50;

    private readonly Func<bool> _contextCanceled;
    private readonly CancellationTokenSource _linked;
    private readonly Timer _poll;

    public ContextCancellation(Func<bool> contextCanceled, CancellationToken token)
    {
        _contextCanceled = contextCanceled;
        _linked = CancellationTokenSource.CreateLinkedTokenSource(token);
        _poll = new Timer(_ => Poll(), null, PollMilliseconds, PollMilliseconds);
    }

    /// <summary>Cancelled by the caller's token or by the context.</summary>
    public CancellationToken Token => _linked.Token;

    /// <summary>Whether the context's flag is set now.</summary>
    public bool ContextCanceled => _contextCanceled();

    public void Dispose()
    {
        _poll.Dispose();
        _linked.Dispose();
    }

    private void Poll()
    {
        try
        {
            if (_contextCanceled())
            {
                _linked.Cancel();
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // An exception here, on a timer thread, would end the process: ObjectDisposedException when the work ended
            // between the tick and this call (nothing left to stop), anything else from reading the flag (a future ML.NET
            // could make the read fail; review): the poll then simply does not cancel.
        }
    }
}
