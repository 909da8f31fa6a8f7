namespace Lmu.MLNet.Samples.Soak;

/// <summary>
/// A background thread that forces full collections and runs finalizers in a loop. Why: an object whose native handle
/// is still in use by libtorch but which no managed code references any more (an implicitly converted TorchSharp
/// <c>Scalar</c>, say) is freed by its finalizer only when a collection happens to run at that moment; this thread
/// makes that moment come thousands of times per fit instead of once in a while on a busy machine.
/// </summary>
internal sealed class GcPressure : IDisposable
{
    private readonly Thread _thread;
    private volatile bool _stop;
    private long _collections;

    public GcPressure()
    {
        _thread = new Thread(Loop) { IsBackground = true, Name = "soak GC pressure" };
        _thread.Start();
    }

    /// <summary>Full collections forced so far.</summary>
    public long Collections => Interlocked.Read(ref _collections);

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }

    private void Loop()
    {
        while (!_stop)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            Interlocked.Increment(ref _collections);
            Thread.Sleep(1);
        }
    }
}
