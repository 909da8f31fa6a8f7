using TorchSharp;

namespace Lmu.MLNet;

/// <summary>
/// Torch's intra-op thread count on the thread that runs a Fit, for the Fit's duration, and nowhere else.
/// </summary>
/// <remarks>
/// libtorch keeps the count per OS thread (OpenMP's and MKL's per-thread settings) and, beside it, one process value
/// that each thread copies at its first parallel operation; <c>set_num_threads</c> writes both. Setting it once for the
/// process and restoring it at the end (the first version, then a shared save for overlapping Fits) therefore leaked
/// (found by QA): a thread whose first torch call fell inside a Fit kept the Fit's count for good, a Fit ending on
/// another thread than the one that saved restored the wrong thread, and such a thread's next Fit wrote its stuck count
/// back as the process value, so every later thread ran torch on one thread. Now each Fit's thread saves and restores its
/// own count (the first lease on a thread saves, the last restores), and every write is followed by writing the process
/// value back from a short-lived thread of our own, so the process value other threads copy never changes.
/// </remarks>
internal static class TorchThreadCount
{
    private static readonly object Gate = new();

    [ThreadStatic]
    private static int t_holders;

    [ThreadStatic]
    private static int t_saved;

    /// <summary>
    /// Sets <paramref name="threads"/> on the calling thread until the result is disposed on the same thread (as a
    /// <c>using</c> does; a Dispose on another thread changes nothing); 0 leaves torch's setting alone.
    /// </summary>
    public static IDisposable Use(int threads)
    {
        if (threads <= 0)
        {
            return NoLease.Instance;
        }

        lock (Gate)
        {
            if (t_holders++ == 0)
            {
                t_saved = torch.get_num_threads();
            }

            SetOnThisThread(threads);
        }

        return new Lease(Environment.CurrentManagedThreadId);
    }

    /// <summary>The process value: what a thread that never ran torch gets at its first parallel operation.</summary>
    internal static int ProcessValue() => OnOwnThread(torch.get_num_threads);

    // Under Gate: the read, this thread's write and the write-back must not interleave with another lease's.
    private static void SetOnThisThread(int threads)
    {
        var process = ProcessValue();
        torch.set_num_threads(threads);
        if (process != threads)
        {
            OnOwnThread(() =>
            {
                torch.set_num_threads(process);
                return 0;
            });
        }
    }

    // A thread of our own that runs torch for this one call and ends, so its per-thread count matters to no one.
    private static int OnOwnThread(Func<int> action)
    {
        var result = 0;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = action();
            }
            catch (Exception e)
            {
                failure = e;
            }
        }, maxStackSize: 256 * 1024)
        {
            IsBackground = true,
            Name = "Lmu.MLNet torch thread count",
        };
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }

        return result;
    }

    private sealed class Lease(int thread) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            if (Environment.CurrentManagedThreadId != thread)
            {
                // Another thread's count cannot be set from here (the Fits dispose with a using on their own thread, so
                // this does not happen); this thread's count and lease count are left as they are.
                return;
            }

            lock (Gate)
            {
                if (--t_holders == 0)
                {
                    SetOnThisThread(t_saved);
                }
            }
        }
    }

    private sealed class NoLease : IDisposable
    {
        public static readonly NoLease Instance = new();

        public void Dispose()
        {
        }
    }
}
