namespace Lmu.MLNet.Samples.Serving;

/// <summary>The <c>serve</c> command line.</summary>
/// <param name="ModelPath">The model zip.</param>
/// <param name="Urls">Addresses to listen on (semicolon-separated).</param>
/// <param name="PoolSize">PredictionEngines that may score at once; 0 = the default.</param>
/// <param name="MaxBodyBytes">The largest request body; 0 = sized to the model's inputs.</param>
/// <param name="Verbose">Log stack traces of internal errors, not only their type and message.</param>
/// <param name="Channels">Channels C of a classifier: a request's sequence length must not exceed T = features width / C.</param>
internal sealed record ServeSettings(string ModelPath, string Urls, int PoolSize = 0, long MaxBodyBytes = 0, bool Verbose = false, int Channels = 1);
