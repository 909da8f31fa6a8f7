using TorchSharp;

namespace Lmu.MLNet;

/// <summary>
/// Torch's intra-op thread count for the duration of Fits. The count is process-wide, so Fits that overlap share one
/// saved value: the first to start saves torch's setting and the last to end restores it (each Fit saving and restoring
/// on its own left the count of whichever Fit ended last; found by QA: after 4 concurrent Fits torch kept 1 thread
/// instead of 2). While Fits overlap, the count is the one the latest of them asked for.
/// </summary>
internal static class TorchThreadCount
{
    private static readonly object Gate = new();
    private static int _holders;
    private static int _saved;

    /// <summary>Sets <paramref name="threads"/> until the result is disposed; 0 leaves torch's setting alone.</summary>
    public static IDisposable Use(int threads)
    {
        if (threads <= 0)
        {
            return NoLease.Instance;
        }

        lock (Gate)
        {
            if (_holders++ == 0)
            {
                _saved = torch.get_num_threads();
            }

            torch.set_num_threads(threads);
        }

        return new Lease();
    }

    private sealed class Lease : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            lock (Gate)
            {
                if (--_holders == 0)
                {
                    torch.set_num_threads(_saved);
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
