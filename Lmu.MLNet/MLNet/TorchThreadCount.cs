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
/// back as the process value, so every later thread ran torch on one thread. Now each lease saves and restores its own
/// thread's count, and every write is followed by writing the process value back from a short-lived thread of our own, so
/// the process value other threads copy stays as it was (see the windows noted on SetOnThisThread).
/// </remarks>
internal static class TorchThreadCount
{
    private static readonly object Gate = new();

    // This thread's leases, oldest first: each restores what the thread had when it was taken, so a Fit nested in
    // another's progress callback gives the outer Fit its count back (review: it kept the inner one's).
    [ThreadStatic]
    private static List<Lease>? t_leases;

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
            var lease = new Lease(Environment.CurrentManagedThreadId, torch.get_num_threads());
            SetOnThisThread(threads);
            (t_leases ??= []).Add(lease);
            return lease;
        }
    }

    /// <summary>The process value: what a thread that never ran torch gets at its first parallel operation.</summary>
    internal static int ProcessValue() => OnOwnThread(torch.get_num_threads);

    // Under Gate, so leases do not interleave. Two windows remain, since libtorch offers no way to set one thread's count
    // alone: a thread whose first torch call falls between the set and the write-back copies this count, and a host's own
    // torch.set_num_threads on another thread between the read and the write-back is undone (QA: 9 of 3,684 new threads
    // beside 40 Fits, against 3,147 of 3,552 before). Where libtorch's process value was never set (it follows MKL's
    // default), the write-back sets it explicitly to that default.
    private static void SetOnThisThread(int threads)
    {
        var process = ProcessValue();
        try
        {
            torch.set_num_threads(threads);
        }
        finally
        {
            if (process != threads)
            {
                OnOwnThread(() =>
                {
                    torch.set_num_threads(process);
                    return 0;
                });
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/> on a thread of its own that ends after it (its per-thread count matters to no one),
    /// rethrowing what it throws.
    /// </summary>
    internal static T OnOwnThread<T>(Func<T> action)
    {
        T result = default!;
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
        })
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

    private sealed class Lease(int thread, int saved) : IDisposable
    {
        private int _disposed;

        /// <summary>What the thread gets back: its count before this lease, or before a lease below it that ended first.</summary>
        public int Saved { get; set; } = saved;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0 || Environment.CurrentManagedThreadId != thread)
            {
                // Another thread's count cannot be set from here (the Fits dispose with a using on their own thread, so
                // this does not happen).
                return;
            }

            lock (Gate)
            {
                var leases = t_leases!;
                var at = leases.IndexOf(this);
                if (at < leases.Count - 1)
                {
                    // Ended before a lease taken after it: that one restores what this one would have.
                    leases[at + 1].Saved = Saved;
                    leases.RemoveAt(at);
                    return;
                }

                leases.RemoveAt(at);
                try
                {
                    SetOnThisThread(Saved);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // The Fit's own outcome (its model or its exception) is what the caller must see; a count that could
                    // not be set back stays as it is.
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
