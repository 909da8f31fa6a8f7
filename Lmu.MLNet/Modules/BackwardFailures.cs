namespace Lmu.MLNet.Modules;

/// <summary>
/// The exceptions that <see cref="GuardedFunction{T}"/> backward passes caught, kept for the caller of
/// <c>backward()</c>, whose own exception (libtorch's, about an empty gradient) does not say what went wrong.
/// </summary>
internal static class BackwardFailures
{
    // On CPU libtorch runs the backward pass on the thread that called backward(): that thread's failure is the one.
    [ThreadStatic]
    private static Exception? t_last;

    // Any thread's last failure, for engines that call back on threads of their own.
    private static Exception? s_last;

    /// <summary>Keeps <paramref name="failure"/> for <see cref="Take"/>.</summary>
    public static void Record(Exception failure)
    {
        t_last = failure;
        Volatile.Write(ref s_last, failure);
    }

    /// <summary>
    /// The failure kept on this thread, cleared; null when there is none. With <paramref name="anyThread"/> (a device
    /// whose engine calls back on threads of its own) the last failure of any thread when this one has none: on the
    /// CPU that would be another trainer's failure, reported as this one's.
    /// </summary>
    public static Exception? Take(bool anyThread = false)
    {
        var mine = t_last;
        t_last = null;
        if (mine is null) return anyThread ? Interlocked.Exchange(ref s_last, null) : null;
        Interlocked.CompareExchange(ref s_last, null, mine);
        return mine;
    }
}
