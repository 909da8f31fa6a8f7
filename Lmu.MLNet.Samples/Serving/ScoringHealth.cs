namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// Whether scoring works, judged by the predictions themselves: <see cref="Threshold"/> internal failures in a row
/// (not bad requests, not a busy pool) make the service unhealthy until a prediction succeeds again. /health
/// answers 503 with <see cref="Problem"/> then, so a load balancer stops sending traffic to a broken process.
/// </summary>
internal sealed class ScoringHealth
{
    /// <summary>Consecutive internal scoring failures that make the service unhealthy.</summary>
    public const int Threshold = 3;

    private readonly string _what;
    private int _consecutiveFailures;

    /// <param name="what">What failed, in the plural, for <see cref="Problem"/> (/predict's "predictions", the default).</param>
    public ScoringHealth(string what = "predictions") => _what = what;
    private string _lastFailure = string.Empty;

    /// <summary>Null when healthy; otherwise why not (the exception type only: messages may name server paths, the log has them).</summary>
    public string? Problem
    {
        get
        {
            var failures = Volatile.Read(ref _consecutiveFailures);
            return failures >= Threshold
                ? $"the last {failures} {_what} failed inside the service (last: {Volatile.Read(ref _lastFailure)}); the server log has the reasons"
                : null;
        }
    }

    public void Succeeded() => Interlocked.Exchange(ref _consecutiveFailures, 0);

    public void Failed(Exception e)
    {
        Volatile.Write(ref _lastFailure, e.GetType().Name);
        Interlocked.Increment(ref _consecutiveFailures);
    }
}
