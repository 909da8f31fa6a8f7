namespace Lmu.MLNet.Samples.Serving;

/// <summary>The <c>serve</c> command line.</summary>
/// <param name="ModelPath">The model zip.</param>
/// <param name="Urls">Addresses to listen on (semicolon-separated).</param>
/// <param name="PoolSize">PredictionEngines that may score at once; 0 = the default.</param>
/// <param name="MaxBodyBytes">The largest request body; 0 = sized to the model's inputs.</param>
/// <param name="Verbose">Log stack traces of internal errors, not only their type and message.</param>
/// <param name="Channels">Channels C of a classifier: a request's sequence length must not exceed T = features width / C.</param>
/// <param name="ShutdownSeconds">How long requests in flight may take once the service is told to stop.</param>
internal sealed record ServeSettings(string ModelPath, string Urls, int PoolSize = 0, long MaxBodyBytes = 0, bool Verbose = false, int Channels = 1, int ShutdownSeconds = ServeSettings.DefaultShutdownSeconds)
{
    /// <summary>
    /// The default of <see cref="ShutdownSeconds"/>: under a container's usual stop grace of 10 s. The host's own default,
    /// 30 s, let one stalled client hold a stopping service that long, and the container's SIGKILL came first (serve QA).
    /// </summary>
    public const int DefaultShutdownSeconds = 8;
}
