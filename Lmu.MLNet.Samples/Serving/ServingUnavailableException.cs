namespace Lmu.MLNet.Samples.Serving;

/// <summary>The service cannot take the request now (every engine busy too long, or shutting down): 503 and this message.</summary>
internal sealed class ServingUnavailableException(string message) : Exception(message);
