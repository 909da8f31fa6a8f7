namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// Calls a grain again when its message was refused for a passing reason: Orleans forwards a message that reaches an
/// activation being deactivated to the next one at most twice, then rejects it ("Forwarding failed ... after
/// DeactivateOnIdle"). A series whose grain deactivates after a call that stored nothing (a DELETE, a forecast of an
/// unknown id) met that when calls raced it: 500 in 18 of 1,000 ids with a DELETE, an observe and a forecast racing
/// (hostile-clients QA). A rejected message was never run, and every series call is safe to repeat (readings carry
/// their numbers), so it is sent again after a short pause; when every attempt is refused the caller gets
/// <see cref="ServingUnavailableException"/> (503, send again), not an internal failure.
/// </summary>
internal static class TransientRetry
{
    /// <summary>Attempts in all (each may itself be forwarded twice by Orleans).</summary>
    public const int Attempts = 5;

    /// <summary>
    /// The pause before attempt n + 1 is this times 4^(n - 1), with up to half of it again at random: 10, 40, 160 and
    /// 640 ms, about 0.85 s in all (review: 10 to 40 ms, 0.1 s in all, could run out while a busy machine deactivated
    /// the grain), and callers retrying at once do not meet again in step.
    /// </summary>
    public static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(10);

    /// <param name="call">The call; run again (from scratch) after a refusal.</param>
    /// <param name="transient">Whether an exception is a refusal that a later attempt may not meet.</param>
    /// <param name="what">What was asked, for the 503's message ("series 'a'").</param>
    /// <param name="onExhausted">Told of the last refusal when every attempt was refused (health counts it).</param>
    public static async Task<T> CallAsync<T>(Func<Task<T>> call, Func<Exception, bool> transient, string what, Action<Exception>? onExhausted = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (Exception e) when (transient(e))
            {
                if (attempt == Attempts)
                {
                    onExhausted?.Invoke(e);
                    throw new ServingUnavailableException(
                        $"The call for {what} was refused {Attempts} times while other calls changed it ({e.GetType().Name}); send it again.");
                }

                var pause = Pause * Math.Pow(4, attempt - 1);
                await Task.Delay(pause + (pause * (Random.Shared.NextDouble() / 2)));
            }
        }
    }
}
