using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.ML;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// PredictionEngines over ONE shared model, at most <see cref="Size"/> in use at once. Every engine of a model shares
/// its ONNX Runtime session, so an engine must never dispose the model (the factory creates them with
/// <c>OwnsTransformer = false</c>) and the pool never creates extra engines to throw away: a request beyond the pool
/// waits for a free engine (bounded), and nothing is disposed while a prediction may be running.
/// </summary>
internal sealed class EnginePool<TIn, TOut> : IDisposable
    where TIn : class
    where TOut : class, new()
{
    private readonly Func<PredictionEngine<TIn, TOut>> _create;
    private readonly SemaphoreSlim _slots;
    private readonly ConcurrentBag<PredictionEngine<TIn, TOut>> _idle = [];
    private readonly CancellationTokenSource _closing = new();
    private readonly TimeSpan _drainLimit;
    private int _closed;

    /// <summary>A pool of <paramref name="size"/> engines from <paramref name="create"/> (which must not let an engine own the model).</summary>
    public EnginePool(Func<PredictionEngine<TIn, TOut>> create, int size, TimeSpan drainLimit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        _create = create;
        Size = size;
        _drainLimit = drainLimit;
        _slots = new SemaphoreSlim(size, size);
        // Fail at start-up, not on the first request, when the model cannot be bound.
        _idle.Add(create());
    }

    /// <summary>Engines that may run at once.</summary>
    public int Size { get; }

    /// <summary>True once <see cref="Dispose"/> has begun: new work is refused.</summary>
    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>True once <see cref="Dispose"/> found every engine returned and disposed them (false: still open, or a prediction outlived the drain limit).</summary>
    public bool Drained { get; private set; }

    /// <summary>
    /// Runs <paramref name="use"/> on an engine no one else holds, waiting up to <paramref name="wait"/> for one. An engine
    /// whose prediction threw is dropped rather than reused.
    /// </summary>
    public async Task<TResult> RunAsync<TResult>(Func<PredictionEngine<TIn, TOut>, TResult> use, TimeSpan wait, CancellationToken cancellationToken)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closing.Token);
        bool entered;
        try
        {
            entered = Volatile.Read(ref _closed) == 0 && await _slots.WaitAsync(wait, cancel.Token);
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested)
        {
            entered = false;
        }

        if (!entered)
        {
            throw new ServingUnavailableException(Volatile.Read(ref _closed) != 0
                ? "The service is shutting down."
                : string.Create(CultureInfo.InvariantCulture, $"All {Size} prediction engines stayed busy for {wait.TotalSeconds:0} s; retry later or start the service with a larger --pool."));
        }

        try
        {
            // Dispose takes every slot before it disposes anything, so while this slot is held nothing is disposed.
            var engine = _idle.TryTake(out var idle) ? idle : _create();
            var succeeded = false;
            try
            {
                var result = use(engine);
                succeeded = true;
                return result;
            }
            finally
            {
                if (succeeded)
                {
                    _idle.Add(engine);
                }
                else
                {
                    // Frees only this engine's own cursor state: it does not own the shared model.
                    engine.Dispose();
                }
            }
        }
        finally
        {
            _slots.Release();
        }
    }

    /// <summary>
    /// Refuses new work, waits (up to the drain limit) until every running prediction has returned its engine, then
    /// disposes the engines. When a prediction outlives the limit nothing is disposed: the engines are left to the
    /// process exit rather than pulled from under a running prediction.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        // Waiting requests give up now (503); running ones are waited for below.
        _closing.Cancel();
        var deadline = DateTime.UtcNow + _drainLimit;
        var held = 0;
        while (held < Size && _slots.Wait(Max(deadline - DateTime.UtcNow, TimeSpan.Zero)))
        {
            held++;
        }

        if (held < Size)
        {
            return;
        }

        while (_idle.TryTake(out var engine))
        {
            engine.Dispose();
        }

        // The semaphore and the closing token stay undisposed: a request that read "open" just before Dispose may
        // still touch them (to be refused); neither holds an unmanaged resource here.
        Drained = true;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
